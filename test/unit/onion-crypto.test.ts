// Onion crypto: ntor, onion key certs, per-hop layers (recognition, integrity, replay), link records.
import { createCipheriv, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hostkeyFromPem } from '../../relay/hostkey.ts';
import { BODY_OFFSET, CELL_SIZE, N_OFFSET, WIRE_CELL_SIZE } from '../../relay/onion/cell.ts';
import { ntorClient, ntorServer, x25519, x25519Generate } from '../../relay/onion/crypto.ts';
import { Cmac, MAX_RECORD_CELLS, RecordOpener, RecordSealer } from '../../relay/onion/linkcrypto.ts';
import {
  HopLayer,
  hopBackward,
  hopForward,
  hopOriginate,
  originUnwrap,
  originWrap,
  ReplayWindow,
} from '../../relay/onion/layers.ts';
import { makeCert, verifyCert } from '../../relay/onion/onionkey.ts';

// A small RSA key keeps the test fast; the code is key-size agnostic.
const pem = generateKeyPairSync('rsa', {
  modulusLength: 1024,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
}).privateKey;
const hostkey = hostkeyFromPem(pem as string);

describe('ntor', () => {
  it('both sides derive the same key seed; a wrong onion key fails auth', () => {
    const B = x25519Generate();
    const X = x25519Generate();
    const s = ntorServer(B, hostkey.identity, X.pub)!;
    const seed = ntorClient(X, hostkey.identity, B.pub, s.Y, s.auth);
    expect(seed && Buffer.from(seed)).toEqual(Buffer.from(s.keySeed));
    expect(ntorClient(X, hostkey.identity, x25519Generate().pub, s.Y, s.auth)).toBeNull();
    expect(ntorClient(X, randomBytes(32), B.pub, s.Y, s.auth)).toBeNull();
  });

  it('rejects the all-zero and low-order points', () => {
    const B = x25519Generate();
    expect(ntorServer(B, hostkey.identity, new Uint8Array(32))).toBeNull();
    expect(x25519(B.privateKey, new Uint8Array(31))).toBeNull();
  });
});

describe('onion key cert', () => {
  const now = Math.floor(Date.now() / 1000);
  it('verifies against its hostkey only, and only while valid', () => {
    const key = x25519Generate().pub;
    const cert = makeCert(hostkey, key, now - 10, now + 10);
    expect(verifyCert(cert, hostkey.spkiDer)?.onionKey).toEqual(key);
    const other = hostkeyFromPem(
      generateKeyPairSync('rsa', {
        modulusLength: 1024,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      }).privateKey as string,
    );
    expect(verifyCert(cert, other.spkiDer)).toBeNull();
    expect(verifyCert(cert, hostkey.spkiDer, (now + 60) * 1000)).toBeNull();
    const forged = cert.slice();
    forged[5] ^= 1;
    expect(verifyCert(forged, hostkey.spkiDer)).toBeNull();
    expect(verifyCert(cert.subarray(0, 40), hostkey.spkiDer)).toBeNull();
  });
});

function hops(n: number): { origin: HopLayer[]; relay: HopLayer[] } {
  const seeds = Array.from({ length: n }, () => randomBytes(32));
  return { origin: seeds.map((s) => new HopLayer(s)), relay: seeds.map((s) => new HopLayer(s)) };
}

function cellWith(text: string): Uint8Array {
  const c = new Uint8Array(CELL_SIZE);
  c.set(Buffer.from(text), BODY_OFFSET);
  return c;
}

describe('layers', () => {
  it('a forward cell is recognized exactly at its target hop and every byte changes per hop', () => {
    const { origin, relay } = hops(3);
    for (let target = 0; target < 3; target++) {
      const c = cellWith(`to hop ${target}`);
      originWrap(origin, target, c);
      const seen = [c.slice(N_OFFSET)];
      let at = 0;
      while (!hopForward(relay[at]!, c)) {
        seen.push(c.slice(N_OFFSET));
        at++;
        expect(at).toBeLessThanOrEqual(target);
      }
      expect(at).toBe(target);
      expect(Buffer.from(c.subarray(BODY_OFFSET, BODY_OFFSET + 8)).toString()).toBe(`to hop ${target}`);
      for (let i = 1; i < seen.length; i++) {
        const same = seen[i]!.filter((b, k) => b === seen[i - 1]![k]).length;
        expect(same).toBeLessThan(20); // ~219/256 by chance
      }
    }
  });

  it('a backward cell from any hop is recognized by the initiator as from that hop', () => {
    const { origin, relay } = hops(3);
    for (let from = 0; from < 3; from++) {
      const c = cellWith(`from hop ${from}`);
      hopOriginate(relay[from]!, c);
      for (let j = from - 1; j >= 0; j--) hopBackward(relay[j]!, c);
      expect(originUnwrap(origin, c)).toBe(from);
      expect(Buffer.from(c.subarray(BODY_OFFSET, BODY_OFFSET + 10)).toString()).toBe(`from hop ${from}`);
    }
  });

  it('rejects a replayed cell and a tampered one', () => {
    const { origin, relay } = hops(2);
    const c = cellWith('hello');
    originWrap(origin, 1, c);
    const copy = c.slice();
    const tampered = c.slice();
    tampered[BODY_OFFSET + 50]! ^= 1;
    hopForward(relay[0]!, c);
    expect(hopForward(relay[1]!, c)).toBe(true);
    hopForward(relay[0]!, copy);
    expect(hopForward(relay[1]!, copy)).toBe(false); // replay
    const { origin: o2, relay: r2 } = hops(2);
    const d = cellWith('hello');
    originWrap(o2, 1, d);
    d[BODY_OFFSET + 50]! ^= 1;
    hopForward(r2[0]!, d);
    expect(hopForward(r2[1]!, d)).toBe(false); // integrity
  });

  it('cells decrypt independently, so a lost cell does not break the ones after it', () => {
    const { origin, relay } = hops(2);
    const cells = [0, 1, 2, 3].map((i) => {
      const c = cellWith(`msg ${i}`);
      originWrap(origin, 1, c);
      return c;
    });
    for (const i of [3, 0, 2]) {
      hopForward(relay[0]!, cells[i]!);
      expect(hopForward(relay[1]!, cells[i]!)).toBe(true);
    }
  });

  it('the replay window accepts reordering within it and rejects old and repeated numbers', () => {
    const w = new ReplayWindow();
    expect(w.accept(5)).toBe(true);
    expect(w.accept(3)).toBe(true);
    expect(w.accept(3)).toBe(false);
    expect(w.accept(2000)).toBe(true);
    expect(w.accept(5)).toBe(false);
    expect(w.accept(1999)).toBe(true);
  });
});

describe('link records', () => {
  const cellsOf = (n: number) => Array.from({ length: n }, () => new Uint8Array(randomBytes(CELL_SIZE)));
  const keys = () => [randomBytes(32), randomBytes(32)] as const;

  it('CMAC matches the NIST SP 800-38B AES-256 examples, also when its CBC object is reused', () => {
    const k = Buffer.from('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4', 'hex');
    const m = Buffer.from(
      '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
      'hex',
    );
    const c = new Cmac(k);
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    for (let i = 0; i < 2; i++) {
      expect(hex(c.mac(m.subarray(0, 16), m.subarray(16, 16)))).toBe('28a7023f452e8f82bd4bf28d8c37c35c');
      expect(hex(c.mac(m.subarray(0, 16), m.subarray(16, 64)))).toBe('e1992190549f6ed5696a2c056c315410');
    }
  });

  it('open what was sealed, in any number of records and reads, and only after the tag', () => {
    const [e, m] = keys();
    const s = new RecordSealer(e, m);
    const o = new RecordOpener(e, m);
    for (const n of [1, 2, 63, 64, 65, 200]) {
      const cells = cellsOf(n);
      const wire = s.seal(cells);
      expect(wire.length).toBe(n * WIRE_CELL_SIZE); // whole 240-byte units, nothing else
      const got: Uint8Array[] = [];
      for (let at = 0; at < wire.length; at += WIRE_CELL_SIZE) {
        expect(o.read(wire.subarray(at, at + WIRE_CELL_SIZE), got)).toBe(true);
        // Cells come out only when their record's tag has arrived (records of MAX_RECORD_CELLS, then the rest).
        const units = at / WIRE_CELL_SIZE + 1;
        const ended = units === n ? n : Math.floor(units / MAX_RECORD_CELLS) * MAX_RECORD_CELLS;
        expect(got.length).toBe(ended);
      }
      expect(got.map((c) => Buffer.from(c).toString('hex'))).toEqual(
        cells.map((c) => Buffer.from(c).toString('hex')),
      );
    }
  });

  it('fail on any changed bit, a replayed, reordered or dropped record, or a record that never ends', () => {
    const run = (mutate: (records: Buffer[]) => Buffer[]) => {
      const [e, m] = keys();
      const s = new RecordSealer(e, m);
      const o = new RecordOpener(e, m);
      const records = [s.seal(cellsOf(3)), s.seal(cellsOf(1)), s.seal(cellsOf(2))];
      const got: Uint8Array[] = [];
      return mutate(records).every((r) => o.read(r, got));
    };
    expect(run((r) => r)).toBe(true);
    for (const at of [0, 100, 223, 224, 239, 479, 719]) {
      expect(
        run((r) => {
          r[0]![at]! ^= 1;
          return r;
        }),
      ).toBe(false);
    }
    expect(run((r) => [r[0]!, r[0]!, r[1]!])).toBe(false); // replayed
    expect(run((r) => [r[0]!, r[2]!, r[1]!])).toBe(false); // reordered
    expect(run((r) => [r[0]!, r[2]!])).toBe(false); // dropped
    expect(run((r) => [r[1]!, r[0]!])).toBe(false);
    // Units whose trailers all decrypt to zero (only the key holder can make them) never end a record:
    // the receiver gives up after MAX_RECORD_CELLS instead of buffering for ever.
    const [e, m] = keys();
    const o = new RecordOpener(e, m);
    const endless = createCipheriv('aes-256-ctr', e, Buffer.alloc(16)).update(
      Buffer.alloc(MAX_RECORD_CELLS * WIRE_CELL_SIZE),
    );
    expect(o.read(endless.subarray(0, (MAX_RECORD_CELLS - 1) * WIRE_CELL_SIZE), [])).toBe(true);
    expect(o.partial).toBe(true);
    expect(o.read(endless.subarray((MAX_RECORD_CELLS - 1) * WIRE_CELL_SIZE), [])).toBe(false);
  });
});
