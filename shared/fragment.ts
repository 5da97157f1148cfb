// The URL fragment of a client link (`npm start` and the tests print these; the page reads them):
//   #token=<bridge token>&name=<display name>&me=<own presence bundle>&contact=<contact string>…
// `me` (optional) = base64url(X25519 contact private key ‖ presence secret), so a demo link already
// has the secrets its friends' contact strings name. The page adopts `me` only from a link whose token
// its relay then accepts (client/src/lib/api/fragment.ts). Relay and browser share this file. Browser-safe.
import { toBase64Url } from './bytes.ts';

/** The page reads at most this many contacts from one link. */
export const MAX_FRAGMENT_CONTACTS = 16;

export interface ClientLink {
  token: string;
  name: string;
  /** Own contact private key (32 bytes) and presence secret (32 bytes). */
  me?: { contactPriv: Uint8Array; secret: Uint8Array };
  contacts: string[];
}

export function formatFragment(l: ClientLink): string {
  const p = new URLSearchParams({ token: l.token, name: l.name });
  if (l.me) {
    const b = new Uint8Array(64);
    b.set(l.me.contactPriv);
    b.set(l.me.secret, 32);
    p.set('me', toBase64Url(b));
  }
  for (const c of l.contacts.slice(0, MAX_FRAGMENT_CONTACTS)) p.append('contact', c);
  return p.toString();
}

export function readFragment(params: URLSearchParams): {
  token: string | null;
  name: string | null;
  me: string | null;
  contacts: string[];
} {
  return {
    token: params.get('token'),
    name: params.get('name'),
    me: params.get('me'),
    contacts: params.getAll('contact').slice(0, MAX_FRAGMENT_CONTACTS),
  };
}
