// Onion crypto: ntor, onion key certs, per-hop layers (recognition, integrity, replay), link AEAD.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hostkeyFromPem } from '../../relay/hostkey.ts';
import { BODY_OFFSET, CELL_SIZE, N_OFFSET } from '../../relay/onion/cell.ts';
import {
  ntorClient,
  ntorServer,
  openCell,
  sealCell,
  x25519,
  x25519Generate,
} from '../../relay/onion/crypto.ts';
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

describe('link cell AEAD', () => {
  it('opens only with the right key and counter', () => {
    const key = randomBytes(32);
    const plain = randomBytes(CELL_SIZE);
    const out = Buffer.alloc(CELL_SIZE + 16);
    sealCell(key, 7, plain, out, 0);
    expect(Buffer.from(openCell(key, 7, out)!)).toEqual(plain);
    expect(openCell(key, 8, out)).toBeNull();
    out[3]! ^= 1;
    expect(openCell(key, 7, out)).toBeNull();
  });
});
