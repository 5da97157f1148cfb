// Pure parts of the link library: framing, proof of work, frame encryption, HELLO parsing.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameOpener, FrameSealer } from '../../relay/p2p/cipher.ts';
import { encodeHeader, FrameReader, LinkViolation } from '../../relay/p2p/frame.ts';
import { decodeHello, encodeHello } from '../../relay/p2p/handshake.ts';
import { checkPow, findPow, leadingZeroBits } from '../../relay/p2p/pow.ts';
import { TokenBucket } from '../../relay/p2p/ratelimit.ts';

describe('FrameReader', () => {
  it('splits frames across arbitrary chunk boundaries', () => {
    const a = new Uint8Array([...encodeHeader(7, 1100), 1, 2, 3]);
    const b = new Uint8Array([...encodeHeader(4, 1101)]);
    const all = new Uint8Array([...a, ...b]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: all.length }), (cut) => {
        const r = new FrameReader(1024);
        const frames = [...r.push(all.slice(0, cut)), ...r.push(all.slice(cut))];
        expect(frames.map((f) => [f.type, [...f.body]])).toEqual([
          [1100, [1, 2, 3]],
          [1101, []],
        ]);
        expect(r.buffered).toBe(0);
      }),
    );
  });

  it('rejects sizes below the header and above the cap on the header alone', () => {
    expect(() => new FrameReader(1024).push(encodeHeader(3, 1100))).toThrow(LinkViolation);
    expect(() => new FrameReader(1024).push(encodeHeader(1025, 1100))).toThrow(/limit 1024/);
  });

  it('any byte string either yields frames or a LinkViolation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          new FrameReader(256).push(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(LinkViolation);
        }
      }),
    );
  });
});

describe('proof of work', () => {
  it('counts leading zero bits', () => {
    expect(leadingZeroBits(new Uint8Array([0, 0x10]))).toBe(11);
    expect(leadingZeroBits(new Uint8Array([0x80]))).toBe(0);
    expect(leadingZeroBits(new Uint8Array(2))).toBe(16);
  });

  it('finds a nonce that checks, caches it, and rejects it at a higher difficulty', async () => {
    const id = randomBytes(32);
    const nonce = await findPow(id, 10);
    expect(checkPow(id, nonce, 10)).toBe(true);
    expect(await findPow(id, 10)).toBe(nonce);
    expect(checkPow(randomBytes(32), nonce, 10)).toBe(false); // bound to the identity
    expect(checkPow(id, nonce.subarray(1), 0)).toBe(false);
  });
});

describe('frame encryption', () => {
  it('round-trips and rejects any tampering, replay or reordering', () => {
    const key = randomBytes(32);
    const sealer = new FrameSealer(key);
    const h = encodeHeader(4 + 5 + 16, 1100);
    const c1 = sealer.seal(h, new Uint8Array([1, 2, 3, 4, 5]));
    const c2 = sealer.seal(h, new Uint8Array([6, 7, 8, 9, 10]));
    expect([...new FrameOpener(key).open(h, c1)]).toEqual([1, 2, 3, 4, 5]);
    const flipped = c1.slice();
    flipped[0]! ^= 1;
    expect(() => new FrameOpener(key).open(h, flipped)).toThrow(LinkViolation);
    expect(() => new FrameOpener(key).open(encodeHeader(25, 1101), c1)).toThrow(LinkViolation);
    expect(() => new FrameOpener(key).open(h, c2)).toThrow(LinkViolation); // out of order
    const o = new FrameOpener(key);
    o.open(h, c1);
    expect(() => o.open(h, c1)).toThrow(LinkViolation); // replay
  });
});

describe('HELLO codec', () => {
  it('round-trips', () => {
    const hello = {
      protocol: 'voidphone-gossip-v1',
      listenPort: 6001,
      challenge: randomBytes(32),
      ephemeral: randomBytes(32),
      powNonce: randomBytes(8),
      hostkeyDer: randomBytes(550),
    };
    const back = decodeHello(encodeHello(hello));
    expect(back.protocol).toBe(hello.protocol);
    expect(back.listenPort).toBe(6001);
    expect(Buffer.from(back.hostkeyDer).equals(hello.hostkeyDer)).toBe(true);
  });

  it('any byte string either decodes or raises a LinkViolation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeHello(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(LinkViolation);
        }
      }),
    );
  });
});

describe('TokenBucket', () => {
  it('allows the burst, then the rate', () => {
    let t = 0;
    const b = new TokenBucket(10, 5, () => t);
    for (let i = 0; i < 5; i++) expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
    t += 100; // 0.1 s -> one token
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
  });
});
