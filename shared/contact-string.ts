// Contact strings: what a user copies and sends to a friend out of band. Parsed by the browser and
// made by the relay's demo (`npm start`), so one copy lives here. Parsing is strict: this text comes
// from outside. Browser-safe.
//   voidphone:v2:<hostkey SPKI DER>:<contact key>:<presence secret>:<display name, percent-encoded>
//   (keys base64url; contact key = X25519 public key, 32 bytes; presence secret = 32 random bytes)
//   voidphone:v1:<hostkey SPKI DER>:<display name>   (old links: calls work, presence does not)
// The hostkey's SHA-256 (the identity) is the fingerprint people compare by voice. The presence
// secret makes the string a credential: whoever holds it sees when its owner is online, until the
// owner removes them (docs/threat-model.md).
import { fromBase64Url, toBase64Url } from './bytes.ts';
import { identityOf, isSpki, toHex } from './identity.ts';

const V1 = 'voidphone:v1:';
const V2 = 'voidphone:v2:';
export const MAX_NAME_LENGTH = 64;
/** RSA-4096 SPKI is 550 bytes; leave room for larger keys, refuse absurd ones. */
const MAX_SPKI_BYTES = 2048;
const MIN_SPKI_BYTES = 64;
export const CONTACT_KEY_BYTES = 32;
export const PRESENCE_SECRET_BYTES = 32;

/** What a friend needs to see its owner's presence and to receive a rotated secret. */
export interface PresenceCard {
  /** X25519 public key: with ours it gives the per-pair secret that carries rotated presence secrets. */
  contactKey: Uint8Array;
  /** Decides the round tag and the key of its owner's presence records. */
  secret: Uint8Array;
}

export interface ContactCard {
  name: string;
  /** Hostkey, DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** SHA-256(spki), lower-case hex (64 characters). */
  identity: string;
  /** null for a v1 string: that contact's presence can't be seen until it sends a v2 string. */
  presence: PresenceCard | null;
}

export class ContactStringError extends Error {
  override name = 'ContactStringError';
}

/** Trim, drop control characters, collapse spaces, cap the length. */
export function cleanName(name: string): string {
  return [
    ...name
      .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
      .replace(/\s+/g, ' ')
      .trim(),
  ]
    .slice(0, MAX_NAME_LENGTH)
    .join('');
}

export function formatContactString(name: string, spki: Uint8Array, presence: PresenceCard): string {
  if (presence.contactKey.length !== CONTACT_KEY_BYTES || presence.secret.length !== PRESENCE_SECRET_BYTES)
    throw new RangeError('bad presence card');
  const parts = [toBase64Url(spki), toBase64Url(presence.contactKey), toBase64Url(presence.secret)];
  return `${V2}${parts.join(':')}:${encodeURIComponent(cleanName(name))}`;
}

function decodeKey(text: string | undefined, what: string): Uint8Array {
  try {
    return fromBase64Url(text ?? '');
  } catch {
    throw new ContactStringError(`The ${what} is damaged (not valid base64url); copy it again.`);
  }
}

export function parseContactString(text: string): ContactCard {
  const s = text.replace(/\s+/g, '');
  const v2 = s.startsWith(V2);
  if (!v2 && !s.startsWith(V1))
    throw new ContactStringError('This is not a VoidPhone contact (it should start with "voidphone:v2:").');
  const parts = s.slice(V2.length).split(':');
  const want = v2 ? 4 : 2;
  if (parts.length > want || parts.length < want - 1 || parts.slice(0, want - 1).some((p) => !p))
    throw new ContactStringError('The contact is incomplete or has extra parts; copy it again.');
  const spki = decodeKey(parts[0], 'contact key');
  if (spki.length < MIN_SPKI_BYTES || spki.length > MAX_SPKI_BYTES || !isSpki(spki)) {
    throw new ContactStringError('The contact key is not an RSA public key; copy it again.');
  }
  let presence: PresenceCard | null = null;
  if (v2) {
    presence = {
      contactKey: decodeKey(parts[1], 'presence key'),
      secret: decodeKey(parts[2], 'presence secret'),
    };
    if (presence.contactKey.length !== CONTACT_KEY_BYTES || presence.secret.length !== PRESENCE_SECRET_BYTES)
      throw new ContactStringError('The contact is damaged (a key has the wrong length); copy it again.');
  }
  let name = '';
  try {
    name = cleanName(decodeURIComponent(parts[want - 1] ?? ''));
  } catch {
    throw new ContactStringError('The contact name is damaged; copy it again.');
  }
  return { name, spki, identity: toHex(identityOf(spki)), presence };
}

/** Fingerprint for reading aloud: the first 16 bytes of the identity as 8 groups of 4 hex digits. */
export function fingerprint(identityHex: string): string {
  return (identityHex.slice(0, 32).match(/.{4}/g) ?? []).join(' ');
}
