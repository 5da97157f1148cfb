// Contact strings: what a user copies and sends to a friend out of band.
//   voidphone:v1:<hostkey SPKI DER, base64url>:<display name, percent-encoded>
// The hostkey is the friend's relay public key; its SHA-256 (the identity) is the fingerprint
// people compare by voice. Parsing is strict: this text comes from outside.
import { isSpki, identityOf, toHex } from '../../../../shared/identity.ts';
import { fromBase64Url, toBase64Url } from '../crypto/b64.ts';

const PREFIX = 'voidphone:v1:';
export const MAX_NAME_LENGTH = 64;
/** RSA-4096 SPKI is 550 bytes; leave room for larger keys, refuse absurd ones. */
const MAX_SPKI_BYTES = 2048;
const MIN_SPKI_BYTES = 64;

export interface ContactCard {
  name: string;
  /** Hostkey, DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** SHA-256(spki), lower-case hex (64 characters). */
  identity: string;
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

export function formatContactString(name: string, spki: Uint8Array): string {
  return `${PREFIX}${toBase64Url(spki)}:${encodeURIComponent(cleanName(name))}`;
}

export function parseContactString(text: string): ContactCard {
  const s = text.replace(/\s+/g, '');
  if (!s.startsWith(PREFIX))
    throw new ContactStringError('This is not a VoidPhone contact (it should start with "voidphone:v1:").');
  const [keyPart, namePart, ...extra] = s.slice(PREFIX.length).split(':');
  if (!keyPart || extra.length)
    throw new ContactStringError('The contact is incomplete or has extra parts; copy it again.');
  let spki: Uint8Array;
  try {
    spki = fromBase64Url(keyPart);
  } catch {
    throw new ContactStringError('The contact key is damaged (not valid base64url); copy it again.');
  }
  if (spki.length < MIN_SPKI_BYTES || spki.length > MAX_SPKI_BYTES || !isSpki(spki)) {
    throw new ContactStringError('The contact key is not an RSA public key; copy it again.');
  }
  let name = '';
  try {
    name = cleanName(decodeURIComponent(namePart ?? ''));
  } catch {
    throw new ContactStringError('The contact name is damaged; copy it again.');
  }
  return { name, spki, identity: toHex(identityOf(spki)) };
}

/** Fingerprint for reading aloud: the first 16 bytes of the identity as 8 groups of 4 hex digits. */
export function fingerprint(identityHex: string): string {
  return (identityHex.slice(0, 32).match(/.{4}/g) ?? []).join(' ');
}
