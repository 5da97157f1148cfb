// The only signatures the bridge makes with the relay's hostkey: prefix(purpose) || data, where the
// browser chooses data (bounded) and the purpose picks one of these fixed prefixes. No prefix is a
// prefix of another, and none can start anything the onion module signs, so a signature obtained
// through the bridge is useless anywhere else. The prefixes: shared/sign-domains.ts.
import type { Hostkey } from '../hostkey.ts';

import { MAX_SIGN_BYTES, SIGN_PREFIX, type SignPurpose } from '../../shared/sign-domains.ts';

export { MAX_SIGN_BYTES, SIGN_PREFIX, type SignPurpose };

export function isSignPurpose(p: unknown): p is SignPurpose {
  return typeof p === 'string' && Object.hasOwn(SIGN_PREFIX, p);
}

export function signFor(hostkey: Pick<Hostkey, 'sign'>, purpose: SignPurpose, data: Uint8Array): Uint8Array {
  return hostkey.sign(toBeSigned(purpose, data));
}

/** signFor on libuv's thread pool: an RSA-4096 signature costs ~4 ms that the event loop need not wait. */
export async function signForAsync(
  hostkey: Pick<Hostkey, 'signAsync'>,
  purpose: SignPurpose,
  data: Uint8Array,
): Promise<Uint8Array> {
  return hostkey.signAsync(toBeSigned(purpose, data));
}

function toBeSigned(purpose: SignPurpose, data: Uint8Array): Uint8Array {
  if (data.length > MAX_SIGN_BYTES)
    throw new RangeError(`refusing to sign ${data.length} bytes (max ${MAX_SIGN_BYTES})`);
  return Buffer.concat([Buffer.from(SIGN_PREFIX[purpose], 'utf8'), data]);
}
