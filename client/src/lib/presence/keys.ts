// Presence key derivation (docs/threat-model.md "Presence"). Nothing here uses the hostkey: a relay
// or stranger holding every public key of the network derives none of these.
//   record keys  = HKDF-SHA256(presence secret, salt "VoidPhone presence v2", info "record", 64)
//                  → tagKey ‖ encKey;  tag(r, s) = HMAC(tagKey, "tag" ‖ r ‖ s)[0..16],  key(r) = HMAC(encKey, "key" ‖ r)
//                  (s = slot: which half of the round the item was sent in, so even two items of one
//                  sender in one round carry different tags)
//   pair keys    = HKDF-SHA256(X25519(own contact key, friend's), salt "VoidPhone presence v2 pair",
//                  info "key item" ‖ sender public ‖ receiver public, 64) → tagKey ‖ encKey, same per-round use.
// The direction is in the info, so what Alice sends Bob can't be reflected back as Bob's.
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../../../shared/identity.ts';
import { TAG_BYTES } from '../../../../shared/presence/layout.ts';
import { concatBytes, u32, utf8 } from '../crypto/bytes.ts';

export interface RoundKeys {
  tagKey: Uint8Array;
  encKey: Uint8Array;
}

const MAX_CACHE = 2048;
const recordCache = new Map<string, RoundKeys>();
const pairCache = new Map<string, RoundKeys | null>();

function split(okm: Uint8Array): RoundKeys {
  return { tagKey: okm.slice(0, 32), encKey: okm.slice(32, 64) };
}

function remember<T>(cache: Map<string, T>, id: string, make: () => T): T {
  if (cache.has(id)) return cache.get(id) as T;
  const v = make();
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(id, v);
  return v;
}

/** Keys of the records sealed under a presence secret. */
export function recordKeys(secret: Uint8Array): RoundKeys {
  return remember(recordCache, toHex(sha256(secret)), () =>
    split(hkdf(sha256, secret, utf8('VoidPhone presence v2'), utf8('record'), 64)),
  );
}

/**
 * Keys of the key items `senderPub` sends `receiverPub`; we hold `ownPriv`, the private half of one of
 * them. null when the peer's key is unusable (a low-order point gives an all-zero secret).
 */
export function pairKeys(
  ownPriv: Uint8Array,
  peerPub: Uint8Array,
  senderPub: Uint8Array,
  receiverPub: Uint8Array,
) {
  const id = toHex(sha256(concatBytes(ownPriv, peerPub, senderPub, receiverPub)));
  return remember(pairCache, id, () => {
    let dh: Uint8Array;
    try {
      dh = x25519.getSharedSecret(ownPriv, peerPub);
    } catch {
      return null;
    }
    if (dh.every((b) => b === 0)) return null;
    const info = concatBytes(utf8('key item'), senderPub, receiverPub);
    return split(hkdf(sha256, dh, utf8('VoidPhone presence v2 pair'), info, 64));
  });
}

export function roundTag(keys: RoundKeys, round: number, slot: number): Uint8Array {
  return hmac(sha256, keys.tagKey, concatBytes(utf8('tag'), u32(round), Uint8Array.of(slot))).slice(
    0,
    TAG_BYTES,
  );
}

export function roundKey(keys: RoundKeys, round: number): Uint8Array {
  return hmac(sha256, keys.encKey, concatBytes(utf8('key'), u32(round)));
}

export function newContactKey(): { priv: Uint8Array; pub: Uint8Array } {
  const priv = x25519.utils.randomSecretKey();
  return { priv, pub: x25519.getPublicKey(priv) };
}

export function contactPublicKey(priv: Uint8Array): Uint8Array {
  return x25519.getPublicKey(priv);
}
