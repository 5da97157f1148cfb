// Verify the relay hostkey's RSASSA-PKCS1-v1_5 / SHA-256 signatures with WebCrypto (browser and Node).
import { toBase64Url } from './b64.ts';
import { utf8, concatBytes } from './bytes.ts';
import { SIGN_PREFIX, type SignPurpose } from '../../../../shared/sign-domains.ts';

const ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const MAX_CACHED = 256;
const keyCache = new Map<string, Promise<CryptoKey>>();

function importKey(spki: Uint8Array): Promise<CryptoKey> {
  const id = toBase64Url(spki);
  let key = keyCache.get(id);
  if (!key) {
    if (keyCache.size >= MAX_CACHED) keyCache.delete(keyCache.keys().next().value!);
    key = crypto.subtle.importKey('spki', spki as BufferSource, ALG, false, ['verify']);
    keyCache.set(id, key);
    key.catch(() => keyCache.delete(id));
  }
  return key;
}

/** The exact bytes the bridge signs for a purpose: prefix || data. */
export function signedBytes(purpose: SignPurpose, data: Uint8Array): Uint8Array {
  return concatBytes(utf8(SIGN_PREFIX[purpose]), data);
}

/** True only for a valid signature by `spki` over prefix(purpose) || data; never throws. */
export async function verifyHostkeySignature(
  spki: Uint8Array,
  purpose: SignPurpose,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    const key = await importKey(spki);
    return await crypto.subtle.verify(
      ALG,
      key,
      signature as BufferSource,
      signedBytes(purpose, data) as BufferSource,
    );
  } catch {
    return false;
  }
}
