// Every decoder that takes bytes from the network or the browser, as fuzz targets: valid seed
// encodings to mutate, the call under test, and the error type the decoder documents (any other
// throw is a crash). Targets that say "never throws" accept no error at all.
import { signFor } from '../../relay/bridge/sign.ts';
import { parseControl } from '../../relay/bridge/control.ts';
import { encodeDht, decodeDht, DhtType } from '../../relay/dht/protocol.ts';
import {
  decodeDigest,
  decodeIHave,
  decodeIWant,
  decodePeers,
  decodePush,
  encodeDigest,
  encodeIHave,
  encodeIWant,
  encodePeers,
  encodePush,
} from '../../relay/gossip/protocol.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { ClaimError, decodeClaim, encodeClaim } from '../../relay/nse/claim.ts';
import { CELL_SIZE, HsType, WIRE_CELL_SIZE } from '../../relay/onion/cell.ts';
import { decodeExtend, decodeExtended, encodeExtend } from '../../relay/onion/extend.ts';
import { decodeAccept, encodeAccept, encodeHandshake, HandshakeReader } from '../../relay/onion/handshake.ts';
import { fragment, Reassembler, RelayProtocolError } from '../../relay/onion/relaymsg.ts';
import { encodeHeader, FrameReader, LinkViolation } from '../../relay/p2p/frame.ts';
import { decodeHello, encodeHello } from '../../relay/p2p/handshake.ts';
import { decodeNonce, decodePullReply, encodeNonce, encodePullReply } from '../../relay/rps/protocol.ts';
import { parseRecord, RecordError, signRecord, verifyRecord } from '../../relay/rps/record.ts';
import { Deframer } from '../../shared/wire/deframer.ts';
import { WireError } from '../../shared/wire/errors.ts';
import { decodeMessage, encodeMessage } from '../../shared/wire/index.ts';
import type { ApiMessage } from '../../shared/wire/types.ts';
import { decodePayload, encodePayload, PayloadError } from '../../client/src/lib/audio/payload.ts';
import { FrameCipher } from '../../client/src/lib/calls/frames.ts';
import {
  CallWireError,
  decodeCallFrame,
  decodeInner,
  encodeAnswer,
  encodeCallerKey,
  encodeInner,
  encodeOffer,
  encodeRefuse,
} from '../../client/src/lib/calls/wire.ts';
import { getKeys } from '../keypool.ts';
import { presenceFuzz } from './presence-adapter.ts';

export interface Target {
  name: string;
  seeds: Uint8Array[];
  /** Feed one input; may return a promise. */
  run(input: Uint8Array): unknown;
  /** Whether a throw is the decoder's documented rejection (anything else is a crash). */
  expected(e: unknown): boolean;
}

const is =
  (...types: (abstract new (...a: never[]) => Error)[]) =>
  (e: unknown) =>
    types.some((t) => e instanceof t);
const never = () => false;
/** Plain Error only (HandshakeReader, decodeAccept throw new Error(reason)). */
const plainError = (e: unknown) => e instanceof Error && e.constructor === Error;
const b = (n: number, fill = 0) => new Uint8Array(n).fill(fill);
const rnd = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 151 + 7) & 0xff);
/** Inputs cut or padded to a fixed size: where the transport only ever delivers that size. */
const sized = (x: Uint8Array, size: number) => {
  if (x.length === size) return x;
  const out = new Uint8Array(size);
  out.set(x.subarray(0, size));
  return out;
};

function apiMessages(key: Uint8Array, der: Uint8Array): ApiMessage[] {
  return [
    { type: 500, ttl: 3, dataType: 0x1234, data: rnd(20) },
    { type: 501, dataType: 0x1234 },
    { type: 502, messageId: 7, dataType: 1, data: rnd(9) },
    { type: 503, messageId: 7, valid: true },
    { type: 520 },
    { type: 521, estimate: 1000, deviation: 3 },
    { type: 540 },
    { type: 541, port: 7000, portmap: [{ module: 650, port: 7001 }], address: '192.0.2.1', hostkey: der },
    { type: 541, port: 7000, portmap: [], address: '2001:db8::1', hostkey: der },
    { type: 560, port: 7000, address: '192.0.2.1', hostkey: der },
    { type: 560, port: 7000, address: '2001:db8::2', hostkey: der },
    { type: 561, tunnelId: 9, hostkey: der },
    { type: 562, tunnelId: 9 },
    { type: 563, tunnelId: 9 },
    { type: 564, tunnelId: 9, data: rnd(100) },
    { type: 565, requestType: 560, tunnelId: 9 },
    { type: 566, coverSize: 300 },
    { type: 650, ttl: 60, replication: 3, key, value: rnd(40) },
    { type: 651, key },
    { type: 652, key, value: rnd(40) },
    { type: 653, key },
  ];
}

function apiTargets(key: Uint8Array, der: Uint8Array): Target[] {
  const byType = new Map<number, Uint8Array[]>();
  for (const m of apiMessages(key, der)) {
    const list = byType.get(m.type) ?? [];
    list.push(encodeMessage(m));
    byType.set(m.type, list);
  }
  const targets: Target[] = [...byType].map(([type, seeds]) => ({
    name: `api-${type}`,
    seeds,
    run: (x) => decodeMessage(x),
    expected: is(WireError),
  }));
  const all = [...byType.values()].flat();
  targets.push({
    name: 'api-deframer',
    seeds: [all.slice(0, 6), all.slice(6, 12), all.slice(12)].map((l) => Buffer.concat(l)),
    // Cut the stream into chunks at the input's own byte values, then decode each frame.
    run: (x) => {
      const d = new Deframer();
      let at = 0;
      while (at < x.length) {
        const n = 1 + ((x[at]! * 7) % 97);
        for (const f of d.push(x.subarray(at, at + n))) {
          try {
            decodeMessage(f);
          } catch (e) {
            if (!(e instanceof WireError)) throw e;
          }
        }
        at += n;
      }
    },
    expected: is(WireError),
  });
  return targets;
}

function p2pTargets(h: Hostkey): Target[] {
  const frame = (type: number, body: Uint8Array) =>
    Buffer.concat([encodeHeader(4 + body.length, type), body]);
  const hello = encodeHello({
    protocol: 'voidphone-gossip-v1',
    listenPort: 6001,
    challenge: b(32, 1),
    ephemeral: b(32, 2),
    powNonce: b(8, 3),
    hostkeyDer: h.spkiDer,
  });
  const id = (n: number) => b(32, n);
  const peers = [
    { identity: id(1), address: { host: '192.0.2.1', port: 6001 } },
    { identity: id(2), address: { host: '2001:db8::1', port: 6002 } },
  ];
  const gossip: [string, Uint8Array[], (x: Uint8Array) => unknown][] = [
    ['gossip-push', [encodePush({ ttl: 3, pulled: false, dataType: 7, data: rnd(50) })], decodePush],
    ['gossip-digest', [encodeDigest({ types: [1, 2], ids: [id(1), id(2)] })], decodeDigest],
    ['gossip-peers', [encodePeers(peers), encodePeers([])], decodePeers],
    [
      'gossip-ihave',
      [
        encodeIHave([
          { dataType: 7, id: id(5) },
          { dataType: 8, id: id(6) },
        ]),
      ],
      decodeIHave,
    ],
    ['gossip-iwant', [encodeIWant([id(5), id(6)])], decodeIWant],
  ];
  const rid = 0x01020304;
  const contact = (n: number, host: string) => ({ id: id(n), host, port: 6000 + n });
  const dhtSeeds = [
    encodeDht({ type: DhtType.PING, rid }),
    encodeDht({ type: DhtType.FIND_NODE, rid, target: id(3) }),
    encodeDht({ type: DhtType.NODES, rid, nodes: [contact(1, '192.0.2.1'), contact(2, '2001:db8::2')] }),
    encodeDht({ type: DhtType.VALUE, rid, ttl: 60, value: rnd(30) }),
    encodeDht({ type: DhtType.STORE, rid, ttl: 60, key: id(4), value: rnd(30) }),
    encodeDht({ type: DhtType.STORED, rid, status: 0 }),
  ].map((body, i) => {
    const t = [1100, 1102, 1103, 1105, 1106, 1107][i]!;
    return Buffer.concat([Uint8Array.of(t >> 8, t & 0xff), body]);
  });
  return [
    {
      name: 'p2p-frames',
      seeds: [Buffer.concat([frame(1000, hello), frame(1100, rnd(30)), frame(1003, b(0))])],
      run: (x) => {
        const r = new FrameReader(65535);
        for (let at = 0; at < x.length; at += 1 + (x[at]! % 61))
          r.push(x.subarray(at, at + 1 + (x[at]! % 61)));
      },
      expected: is(LinkViolation),
    },
    { name: 'p2p-hello', seeds: [hello], run: decodeHello, expected: is(LinkViolation) },
    ...gossip.map(([name, seeds, run]) => ({ name, seeds, run, expected: is(LinkViolation) })),
    {
      name: 'dht-messages',
      seeds: dhtSeeds,
      run: (x) => decodeDht(x.length >= 2 ? (x[0]! << 8) | x[1]! : 0, x.subarray(2)),
      expected: is(LinkViolation),
    },
  ];
}

function rpsTargets(h: Hostkey): Target[] {
  const rec = signRecord({ address: '192.0.2.9', portmap: [{ module: 540, port: 7540 }], time: 1 }, h);
  const rec6 = signRecord({ address: '2001:db8::9', portmap: [], time: 2 }, h);
  return [
    {
      name: 'rps-pull-reply',
      seeds: [encodePullReply(5, [rec.bytes, rec6.bytes], 65000), encodePullReply(6, [], 65000)],
      run: (x) => decodePullReply(x, 64),
      expected: is(LinkViolation),
    },
    {
      name: 'rps-nonce',
      seeds: [encodeNonce(77)],
      run: (x) => decodeNonce(x, 'PROBE'),
      expected: is(LinkViolation),
    },
    {
      name: 'rps-record',
      seeds: [rec.bytes, rec6.bytes],
      // Structure first (cheap); the few that parse also go through key and signature checks.
      run: (x) => {
        parseRecord(x);
        verifyRecord(x, { minKeyBits: 2048 });
      },
      expected: is(RecordError),
    },
  ];
}

function nseTarget(h: Hostkey): Target {
  const claim = encodeClaim(
    {
      version: 1,
      roundMs: 30_000,
      roundStart: 1_700_000_010_000,
      proximities: Uint8Array.of(3, 9, 1),
      identity: h.identity,
      powNonce: b(8, 4),
      hostkey: h.spkiDer,
    },
    (d) => h.sign(d),
  );
  return { name: 'nse-claim', seeds: [claim], run: decodeClaim, expected: is(ClaimError) };
}

function onionTargets(): Target[] {
  const reasm = new Reassembler(65536);
  const cells = [...fragment(3, rnd(10), 1), ...fragment(4, rnd(500), 2)];
  const hs = encodeHandshake(HsType.HELLO, rnd(300));
  const xy = b(32, 5);
  // A valid ACCEPT (its tail encrypted under xy), as the initiator receives it.
  const accept = encodeAccept({ Y: b(32, 9), auth: b(32, 3), der: rnd(40), cert: rnd(8) }, xy);
  const peer = { host: '192.0.2.4', port: 7000, identity: b(32, 8) };
  const targets: Target[] = [
    {
      name: 'onion-relay-msg',
      seeds: cells,
      // A recognized cell's plaintext is always CELL_SIZE bytes; one reassembler for all inputs.
      run: (x) => reasm.push(sized(x, CELL_SIZE)),
      expected: is(RelayProtocolError),
    },
    {
      name: 'onion-handshake',
      seeds: [hs, encodeHandshake(HsType.HELLO, rnd(1000))],
      run: (x) => {
        const r = new HandshakeReader(HsType.HELLO);
        for (let at = 0; at < x.length; at += WIRE_CELL_SIZE)
          if (r.push(sized(x.subarray(at, at + WIRE_CELL_SIZE), WIRE_CELL_SIZE))) break;
      },
      expected: plainError,
    },
    {
      name: 'onion-accept',
      seeds: [accept],
      run: (x) => decodeAccept(x, (y) => (y[0] === 0 ? null : xy)),
      expected: plainError,
    },
    {
      name: 'onion-extend',
      seeds: [encodeExtend(peer, b(32, 1)), encodeExtend({ ...peer, host: '2001:db8::4' }, b(32, 2))],
      run: decodeExtend,
      expected: never,
    },
    {
      name: 'onion-extended',
      seeds: [Buffer.concat([b(64, 1), Uint8Array.of(0, 10), rnd(10)])],
      run: decodeExtended,
      expected: never,
    },
  ];
  return targets;
}

function clientTargets(h: Hostkey): Target[] {
  const callId = b(8, 1);
  const cipherA = new FrameCipher({ send: b(32, 1), recv: b(32, 2) }, callId);
  const cipherB = new FrameCipher({ send: b(32, 2), recv: b(32, 1) }, callId);
  const sealed = [
    cipherA.seal(encodeInner({ msg: 7, payload: rnd(80) })),
    cipherA.seal(encodeInner({ msg: 8 })),
  ];
  const frames = [
    encodeOffer({
      callId,
      timestamp: 1_700_000_000_000,
      eph: b(32, 3),
      callerIdentity: b(32, 4),
      sig: rnd(512),
    }),
    encodeAnswer({ callId, eph: b(32, 5), sig: rnd(512) }),
    encodeRefuse(callId, 1),
    encodeCallerKey(callId, h.spkiDer),
    ...sealed,
  ];
  return [
    { name: 'call-frame', seeds: frames, run: decodeCallFrame, expected: is(CallWireError) },
    {
      name: 'call-inner',
      seeds: [
        encodeInner({ msg: 1, seq: 5 }),
        encodeInner({ msg: 7, payload: rnd(80) }),
        encodeInner({ msg: 8 }),
      ],
      run: decodeInner,
      expected: is(CallWireError),
    },
    // One receiver across inputs: its replay window is state the fuzzer should not be able to grow.
    { name: 'call-cipher-open', seeds: sealed, run: (x) => cipherB.open(x), expected: never },
    {
      name: 'media-payload',
      seeds: [encodePayload({ seq: 1, flags: 0, sentMs: 2, echoMs: 0xffff, holdMs: 8, opus: rnd(60) })],
      run: decodePayload,
      expected: is(PayloadError),
    },
    {
      name: 'bridge-json',
      seeds: [
        '{"t":"ping","id":1}',
        '{"t":"sign","id":7,"purpose":"presence","data":"AAECAw"}',
        '{"t":"sign","id":8,"purpose":"call","data":""}',
      ].map((s) => new TextEncoder().encode(s)),
      run: (x) => parseControl(Buffer.from(x.buffer, x.byteOffset, x.length)),
      expected: never,
    },
  ];
}

/** Every target, built with a pool hostkey (RSA-4096) for the signed seeds. */
export async function buildTargets(): Promise<Target[]> {
  const [pem] = await getKeys(1);
  const h = await loadHostkey(pem!);
  const presence = await presenceFuzz(h.spkiDer, async (d) => signFor(h, 'presence', d));
  return [
    ...apiTargets(b(32, 7), h.spkiDer),
    ...p2pTargets(h),
    ...rpsTargets(h),
    nseTarget(h),
    ...onionTargets(),
    ...clientTargets(h),
    { name: 'presence-open', seeds: presence.seeds, run: (x) => presence.open(x), expected: never },
  ];
}
