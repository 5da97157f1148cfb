// Peer records: the signed announcement a relay spreads about itself (through Gossip, in pushes and
// in pull replies). Layout in docs/rps-protocol.md. A record is self-authenticating: the hostkey
// inside signs everything before the signature, and identity = SHA-256(hostkey SPKI DER).
import type { KeyObject } from 'node:crypto';
import { bytesToIp, ipToBytes, isIPv6 } from '../../shared/address.ts';
import { isSpki, toHex } from '../../shared/identity.ts';
import type { PortMapEntry } from '../../shared/wire/types.ts';
import { checkPeerKey, type Hostkey, identityOfDer, publicKeyFromDer, verifySignature } from '../hostkey.ts';

/** Gossip data type of peer announcements ("RP"). */
export const RPS_DATA_TYPE = 0x5250;
export const RECORD_VERSION = 1;
/** Domain separation: a record signature can never be replayed as another protocol's signature. */
const SIGN_PREFIX = new TextEncoder().encode('voidphone/rps/peer-record/v1\0');
const MAX_PORTMAP = 16;
const MAX_HOSTKEY = 2048;
const MAX_SIGNATURE = 1024;
export const MAX_RECORD_SIZE = 2 + 8 + 1 + 4 * MAX_PORTMAP + 16 + 2 + MAX_HOSTKEY + 2 + MAX_SIGNATURE;

export interface PeerInfo {
  /** IP text (IPv4 dotted quad or IPv6). */
  address: string;
  /** module id -> P2P port, for every module the peer runs (plus 540 for its RPS P2P port). */
  portmap: PortMapEntry[];
  /** Wall-clock time of signing, ms since the Unix epoch. */
  time: number;
}

export interface PeerRecord extends PeerInfo {
  /** SPKI DER. */
  hostkey: Uint8Array;
  /** SHA-256(hostkey). */
  identity: Uint8Array;
  /** Hex of identity: the key of every table. */
  id: string;
  /** The whole signed record as sent. */
  bytes: Uint8Array;
}

export class RecordError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RecordError';
  }
}

function signedPart(unsigned: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGN_PREFIX.length + unsigned.length);
  out.set(SIGN_PREFIX, 0);
  out.set(unsigned, SIGN_PREFIX.length);
  return out;
}

function encodeUnsigned(info: PeerInfo, hostkey: Uint8Array): Uint8Array {
  const ip = ipToBytes(info.address);
  if (info.portmap.length > MAX_PORTMAP) throw new RecordError(`portmap has ${info.portmap.length} entries`);
  const out = new Uint8Array(2 + 8 + 1 + 4 * info.portmap.length + ip.length + 2 + hostkey.length);
  const v = new DataView(out.buffer);
  let at = 0;
  v.setUint8(at++, RECORD_VERSION);
  v.setUint8(at++, isIPv6(info.address) ? 1 : 0);
  v.setBigUint64(at, BigInt(info.time));
  at += 8;
  v.setUint8(at++, info.portmap.length);
  for (const e of info.portmap) {
    v.setUint16(at, e.module);
    v.setUint16(at + 2, e.port);
    at += 4;
  }
  out.set(ip, at);
  at += ip.length;
  v.setUint16(at, hostkey.length);
  out.set(hostkey, at + 2);
  return out;
}

/** Our own record, signed with our hostkey. */
export function signRecord(info: PeerInfo, key: Hostkey): PeerRecord {
  const unsigned = encodeUnsigned(info, key.spkiDer);
  const sig = key.sign(signedPart(unsigned));
  const bytes = new Uint8Array(unsigned.length + 2 + sig.length);
  bytes.set(unsigned, 0);
  new DataView(bytes.buffer).setUint16(unsigned.length, sig.length);
  bytes.set(sig, unsigned.length + 2);
  return { ...info, hostkey: key.spkiDer, identity: key.identity, id: toHex(key.identity), bytes };
}

/** Bounds-checked cursor; any overrun is a RecordError. */
class Cursor {
  private at = 0;
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get pos(): number {
    return this.at;
  }
  need(n: number, what: string): void {
    if (this.at + n > this.bytes.length) throw new RecordError(`truncated at ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.at++);
  }
  u16(what: string): number {
    this.need(2, what);
    const x = this.view.getUint16(this.at);
    this.at += 2;
    return x;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const x = this.view.getBigUint64(this.at);
    this.at += 8;
    return x;
  }
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.bytes.slice(this.at, this.at + n);
    this.at += n;
    return b;
  }
}

interface Parsed {
  info: PeerInfo;
  hostkey: Uint8Array;
  unsigned: Uint8Array;
  signature: Uint8Array;
}

/** Structure only (no signature check). */
export function parseRecord(bytes: Uint8Array): Parsed {
  if (bytes.length > MAX_RECORD_SIZE) throw new RecordError(`record of ${bytes.length} bytes is too large`);
  const c = new Cursor(bytes);
  const version = c.u8('version');
  if (version !== RECORD_VERSION) throw new RecordError(`unknown record version ${version}`);
  const v6 = (c.u8('flags') & 1) === 1;
  const time = c.u64('time');
  if (time > BigInt(Number.MAX_SAFE_INTEGER)) throw new RecordError('time out of range');
  const k = c.u8('#portmap');
  if (k > MAX_PORTMAP) throw new RecordError(`portmap has ${k} entries (max ${MAX_PORTMAP})`);
  const portmap: PortMapEntry[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < k; i++) {
    const module = c.u16('portmap');
    const port = c.u16('portmap');
    if (seen.has(module)) throw new RecordError(`portmap lists module ${module} twice`);
    if (port === 0) throw new RecordError(`portmap: port 0 for module ${module}`);
    seen.add(module);
    portmap.push({ module, port });
  }
  const address = bytesToIp(c.take(v6 ? 16 : 4, 'address'));
  const keyLen = c.u16('hostkey length');
  if (keyLen === 0 || keyLen > MAX_HOSTKEY) throw new RecordError(`hostkey length ${keyLen}`);
  const hostkey = c.take(keyLen, 'hostkey');
  const unsignedEnd = c.pos;
  const sigLen = c.u16('signature length');
  if (sigLen === 0 || sigLen > MAX_SIGNATURE) throw new RecordError(`signature length ${sigLen}`);
  const signature = c.take(sigLen, 'signature');
  if (c.pos !== bytes.length) throw new RecordError(`${bytes.length - c.pos} bytes after the signature`);
  return {
    info: { address, portmap, time: Number(time) },
    hostkey,
    unsigned: bytes.subarray(0, unsignedEnd),
    signature,
  };
}

export interface VerifyOptions {
  /** Smallest RSA modulus accepted (the spec's hostkeys are 4096 bits). */
  minKeyBits: number;
}

function checkKey(hostkey: Uint8Array, opts: VerifyOptions): KeyObject {
  if (!isSpki(hostkey)) throw new RecordError('hostkey is not RSA SPKI DER');
  let key: KeyObject;
  try {
    key = publicKeyFromDer(hostkey);
  } catch {
    throw new RecordError('hostkey does not parse');
  }
  // One encoding per key: OpenSSL also accepts long-form lengths and a missing NULL, and each variant
  // would hash to another identity (thousands of free Sybil ids per key).
  if (!Buffer.from(key.export({ format: 'der', type: 'spki' })).equals(hostkey))
    throw new RecordError('hostkey is not in canonical DER form');
  try {
    checkPeerKey(key);
  } catch (e) {
    throw new RecordError(`hostkey: ${(e as Error).message}`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < opts.minKeyBits) {
    throw new RecordError(
      `hostkey is ${key.asymmetricKeyType} ${bits} bits (need RSA >= ${opts.minKeyBits})`,
    );
  }
  return key;
}

/** Parse and authenticate a record: well-formed, RSA key big enough, signature by that key. */
export function verifyRecord(bytes: Uint8Array, opts: VerifyOptions): PeerRecord {
  const p = parseRecord(bytes);
  const key = checkKey(p.hostkey, opts);
  if (!verifySignature(key, signedPart(p.unsigned), p.signature)) throw new RecordError('bad signature');
  const identity = identityOfDer(p.hostkey);
  return { ...p.info, hostkey: p.hostkey, identity, id: toHex(identity), bytes: bytes.slice() };
}

/** The P2P port of a module in a record's portmap (undefined if it does not run that module). */
export function portOf(rec: PeerInfo, module: number): number | undefined {
  return rec.portmap.find((e) => e.module === module)?.port;
}
