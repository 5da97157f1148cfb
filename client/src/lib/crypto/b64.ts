// base64url without padding: the shared implementation (contact strings are parsed on both sides).
export { fromBase64Url, toBase64Url } from '../../../../shared/bytes.ts';
