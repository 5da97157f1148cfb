// Hostkeys: RSA-4096 private keys in PEM. Identity = SHA-256 over the public key's SPKI DER.
// Signatures are RSASSA-PKCS1-v1_5 with SHA-256 (deterministic; WebCrypto can verify them too).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface Hostkey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Public key as DER SubjectPublicKeyInfo: what goes on the wire. */
  readonly spkiDer: Uint8Array;
  /** SHA-256(spkiDer). */
  readonly identity: Uint8Array;
  sign(data: Uint8Array): Uint8Array;
  /** The same signature computed on libuv's thread pool (an RSA-4096 signature costs ~4 ms of CPU). */
  signAsync(data: Uint8Array): Promise<Uint8Array>;
}

export function identityOfDer(spkiDer: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(spkiDer).digest());
}

export function hostkeyFromPem(pem: string): Hostkey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('hostkey is not an RSA key');
  const publicKey = createPublicKey(privateKey);
  const spkiDer = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  return {
    privateKey,
    publicKey,
    spkiDer,
    identity: identityOfDer(spkiDer),
    sign: (data) => new Uint8Array(sign('sha256', data, privateKey)),
    signAsync: (data) =>
      new Promise((resolve, reject) =>
        sign('sha256', data, privateKey, (err, sig) => (err ? reject(err) : resolve(new Uint8Array(sig)))),
      ),
  };
}

export async function loadHostkey(path: string): Promise<Hostkey> {
  return hostkeyFromPem(await readFile(path, 'utf8'));
}

/** Parse a peer's public key: SPKI DER, or PKCS#1 RSAPublicKey DER (accepted on input). */
export function publicKeyFromDer(der: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' });
  }
}

/**
 * A peer's hostkey must be RSA with e = 65537 and 2048 to 4096 bits. OpenSSL takes any odd e < n for
 * keys up to 3072 bits: with e near n one signature check costs ~5 ms instead of 0.04 (a free CPU
 * attack), and varying e grinds endless identities out of one key. A tiny modulus would make our
 * RSA-4096 answer cost a hundred times what the peer paid.
 */
export function checkPeerKey(key: KeyObject): void {
  const d = key.asymmetricKeyDetails;
  const bits = d?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa') throw new Error('not an RSA public key');
  if (d?.publicExponent !== 65537n) throw new Error(`RSA public exponent ${d?.publicExponent} (need 65537)`);
  if (bits < 2048 || bits > 4096) throw new Error(`RSA key of ${bits} bits (need 2048 to 4096)`);
}

/** Normalise a peer's public key DER to SPKI (what we always send and hash); see checkPeerKey. */
export function toSpkiDer(der: Uint8Array): Uint8Array {
  const key = publicKeyFromDer(der);
  checkPeerKey(key);
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }));
}

/** Verify an RSASSA-PKCS1-v1_5/SHA-256 signature; false (never a throw) on any malformed input. */
export function verifySignature(
  publicKey: KeyObject | Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    const key = publicKey instanceof Uint8Array ? publicKeyFromDer(publicKey) : publicKey;
    return verify('sha256', data, key, signature);
  } catch {
    return false;
  }
}

export async function generateHostkeyPem(bits = 4096): Promise<string> {
  // PEM straight from the job: exporting a KeyObject the job made can deadlock (see relay/x25519.ts).
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicExponent: 65537,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return privateKey;
}

/** Write a fresh key with mode 0600; refuses to overwrite (flag 'wx'). */
export async function writeNewHostkey(path: string, bits = 4096): Promise<void> {
  const pem = await generateHostkeyPem(bits);
  await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
}
