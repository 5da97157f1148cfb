// The medium-term onion key: an X25519 key certified by the RSA hostkey once per rotation period,
// so building a tunnel costs no RSA signature (only a 0.07 ms verify at the initiator).
// Cert layout: version u8 (1) | onion key 32 | valid from u32 | valid until u32 (unix s) |
//              sig len u16 | RSASSA-PKCS1-v1_5/SHA-256 signature over CERT_CONTEXT | identity | bytes 1..41.
import { type Hostkey, verifySignature } from '../hostkey.ts';
import { type ParsedHostkey, parseHostkey } from './keycache.ts';
import { concat, ctEqual, type X25519Pair, x25519Generate } from './crypto.ts';

const CERT_CONTEXT = new TextEncoder().encode('voidphone onion key cert v1\0');
const CERT_FIXED = 1 + 32 + 4 + 4 + 2;
export const MAX_CERT_SIZE = CERT_FIXED + 1024;

export interface OnionCert {
  onionKey: Uint8Array;
  validFrom: number;
  validUntil: number;
  bytes: Uint8Array;
}

function signedPart(identity: Uint8Array, body: Uint8Array): Uint8Array {
  return concat(CERT_CONTEXT, identity, body);
}

export function makeCert(
  hostkey: Hostkey,
  onionKey: Uint8Array,
  validFrom: number,
  validUntil: number,
): Uint8Array {
  const body = new Uint8Array(1 + 32 + 8);
  const v = new DataView(body.buffer);
  body[0] = 1;
  body.set(onionKey, 1);
  v.setUint32(33, validFrom);
  v.setUint32(37, validUntil);
  const sig = hostkey.sign(signedPart(hostkey.identity, body));
  const out = new Uint8Array(CERT_FIXED + sig.length);
  out.set(body);
  new DataView(out.buffer).setUint16(41, sig.length);
  out.set(sig, CERT_FIXED);
  return out;
}

/** Checks a cert against the hostkey it must belong to; null if malformed, forged or expired. */
export function verifyCert(bytes: Uint8Array, hostkeyDer: Uint8Array, nowMs = Date.now()): OnionCert | null {
  if (bytes.length < CERT_FIXED || bytes.length > MAX_CERT_SIZE || bytes[0] !== 1) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const sigLen = v.getUint16(41);
  if (bytes.length !== CERT_FIXED + sigLen) return null;
  const validFrom = v.getUint32(33);
  const validUntil = v.getUint32(37);
  const now = nowMs / 1000;
  if (now < validFrom || now > validUntil) return null;
  let hk: ParsedHostkey;
  try {
    hk = parseHostkey(hostkeyDer);
  } catch {
    return null;
  }
  const body = bytes.subarray(0, 41);
  if (!verifySignature(hk.key, signedPart(hk.identity, body), bytes.subarray(CERT_FIXED))) return null;
  return { onionKey: bytes.slice(1, 33), validFrom, validUntil, bytes };
}

/** Current and previous onion keys; the previous one still answers CREATEs until it expires. */
export class OnionKeys {
  current!: { pair: X25519Pair; cert: Uint8Array };
  previous: { pair: X25519Pair; cert: Uint8Array } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hostkey: Hostkey,
    private readonly rotateMs: number,
  ) {
    this.rotate();
    this.timer = setInterval(() => this.rotate(), rotateMs);
    this.timer.unref();
  }

  rotate(): void {
    const pair = x25519Generate();
    const now = Math.floor(Date.now() / 1000);
    // Valid for two periods (the previous key overlaps the current one) plus clock-skew slack.
    const cert = makeCert(
      this.hostkey,
      pair.pub,
      now - 300,
      now + Math.ceil((2 * this.rotateMs) / 1000) + 300,
    );
    this.previous = this.current;
    this.current = { pair, cert };
  }

  find(B: Uint8Array): X25519Pair | undefined {
    if (ctEqual(this.current.pair.pub, B)) return this.current.pair;
    if (this.previous && ctEqual(this.previous.pair.pub, B)) return this.previous.pair;
    return undefined;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
