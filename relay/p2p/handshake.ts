// The link handshake (docs/p2p-link.md). Both sides send HELLO at once; each then signs the
// transcript (both HELLOs, in initiator-then-responder order, plus its own role) with its hostkey
// and sends AUTH. HELLO carries a fresh challenge, an ephemeral X25519 key, the hostkey and the PoW
// nonce; the session keys come from the X25519 secret and the transcript hash, so a signature
// proves the hostkey holder is the one at the far end of *this* encrypted link.
import { x25519Generate, x25519Public } from '../x25519.ts';
import { createHash, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import { identityOfDer, toSpkiDer } from '../hostkey.ts';
import { LinkViolation } from './frame.ts';
import { checkPow, POW_NONCE_SIZE } from './pow.ts';

export const LinkType = { HELLO: 1000, AUTH: 1001, CLOSE: 1002, PING: 1003 } as const;
/** Application frame types start here; 1000-1009 belong to the link layer. */
export const FIRST_APP_TYPE = 1010;

export const HELLO_VERSION = 1;
const CHALLENGE_SIZE = 32;
const X25519_SIZE = 32;
const FIXED = 4 + CHALLENGE_SIZE + X25519_SIZE + POW_NONCE_SIZE;
const MAX_DER = 2048;
const MAX_SIG = 1024;
const enc = new TextEncoder();

export interface Hello {
  protocol: string;
  listenPort: number;
  challenge: Uint8Array;
  ephemeral: Uint8Array;
  powNonce: Uint8Array;
  hostkeyDer: Uint8Array;
}

export function encodeHello(h: Hello): Uint8Array {
  const label = enc.encode(h.protocol);
  if (label.length > 255) throw new Error('protocol label too long');
  const out = new Uint8Array(FIXED + label.length + h.hostkeyDer.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, HELLO_VERSION);
  v.setUint8(1, label.length);
  v.setUint16(2, h.listenPort);
  out.set(h.challenge, 4);
  out.set(h.ephemeral, 4 + CHALLENGE_SIZE);
  out.set(h.powNonce, 4 + CHALLENGE_SIZE + X25519_SIZE);
  out.set(label, FIXED);
  out.set(h.hostkeyDer, FIXED + label.length);
  return out;
}

export function decodeHello(b: Uint8Array): Hello {
  if (b.length < FIXED) throw new LinkViolation(`HELLO of ${b.length} bytes is truncated`);
  if (b[0] !== HELLO_VERSION) throw new LinkViolation(`HELLO version ${b[0]} unsupported`);
  const labelLen = b[1]!;
  const derLen = b.length - FIXED - labelLen;
  if (derLen < 1 || derLen > MAX_DER) throw new LinkViolation(`HELLO hostkey of ${derLen} bytes`);
  let protocol: string;
  try {
    protocol = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(FIXED, FIXED + labelLen));
  } catch {
    throw new LinkViolation('HELLO protocol label is not UTF-8');
  }
  return {
    protocol,
    listenPort: (b[2]! << 8) | b[3]!,
    challenge: b.slice(4, 4 + CHALLENGE_SIZE),
    ephemeral: b.slice(4 + CHALLENGE_SIZE, 4 + CHALLENGE_SIZE + X25519_SIZE),
    powNonce: b.slice(4 + CHALLENGE_SIZE + X25519_SIZE, FIXED),
    hostkeyDer: b.slice(FIXED + labelLen),
  };
}

export interface VerifiedPeer {
  spkiDer: Uint8Array;
  identity: Uint8Array;
}

/** Check a peer HELLO against our expectations; throws LinkViolation with the reason. */
export function verifyHello(
  h: Hello,
  protocol: string,
  powBits: number,
  ownIdentity: Uint8Array,
): VerifiedPeer {
  if (h.protocol !== protocol) throw new LinkViolation(`protocol "${h.protocol}" is not "${protocol}"`);
  let spkiDer: Uint8Array;
  try {
    spkiDer = toSpkiDer(h.hostkeyDer);
  } catch {
    throw new LinkViolation('HELLO hostkey is not an RSA public key');
  }
  const identity = identityOfDer(spkiDer);
  if (!checkPow(identity, h.powNonce, powBits))
    throw new LinkViolation(`proof of work below ${powBits} bits`);
  if (Buffer.from(identity).equals(ownIdentity)) throw new LinkViolation('connected to ourselves');
  return { spkiDer, identity };
}

/** Transcript hash: both HELLO bodies, initiator first, under the protocol label. */
export function transcriptHash(
  protocol: string,
  initiatorHello: Uint8Array,
  responderHello: Uint8Array,
): Uint8Array {
  const h = createHash('sha256').update(enc.encode(`voidphone-link-v1\0${protocol}\0`));
  for (const part of [initiatorHello, responderHello]) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(part.length);
    h.update(len).update(part);
  }
  return new Uint8Array(h.digest());
}

/** What a side signs: the role byte keeps a signature from being reflected back as the other's. */
export function authPayload(th: Uint8Array, signerIsInitiator: boolean): Uint8Array {
  const out = new Uint8Array(1 + th.length);
  out[0] = signerIsInitiator ? 0x49 /* I */ : 0x52; /* R */
  out.set(th, 1);
  return out;
}

export function checkAuthSize(sig: Uint8Array): void {
  if (sig.length === 0 || sig.length > MAX_SIG)
    throw new LinkViolation(`AUTH signature of ${sig.length} bytes`);
}

export interface Ephemeral {
  privateKey: KeyObject;
  publicRaw: Uint8Array;
}

export function newEphemeral(): Ephemeral {
  const { privateKey, pub } = x25519Generate(); // not generateKeyPairSync: see relay/x25519.ts
  return { privateKey, publicRaw: pub };
}

/** Session keys: initiator->responder and responder->initiator, 32 bytes each. */
export function deriveKeys(
  eph: Ephemeral,
  peerRaw: Uint8Array,
  th: Uint8Array,
  protocol: string,
): { i2r: Uint8Array; r2i: Uint8Array } {
  let secret: Buffer;
  try {
    const peerKey = x25519Public(peerRaw);
    if (!peerKey) throw new Error('not an X25519 key');
    secret = diffieHellman({ privateKey: eph.privateKey, publicKey: peerKey });
  } catch {
    throw new LinkViolation('bad ephemeral key');
  }
  if (secret.every((x) => x === 0)) throw new LinkViolation('ephemeral key of low order');
  const okm = new Uint8Array(
    hkdfSync('sha256', secret, th, enc.encode(`voidphone-link-keys\0${protocol}`), 64),
  );
  return { i2r: okm.slice(0, 32), r2i: okm.slice(32) };
}
