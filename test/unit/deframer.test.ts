import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deframer } from '../../shared/wire/deframer.ts';
import { WireError } from '../../shared/wire/errors.ts';

/** A frame of `size` bytes: valid header (type 564) and a recognisable body. */
function frame(size: number, seed = 0): Uint8Array {
  const f = new Uint8Array(size);
  f.set([size >> 8, size & 0xff, 0x02, 0x34]);
  for (let i = 4; i < size; i++) f[i] = (i + seed) & 0xff;
  return f;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Frames as hex strings: much faster for vitest to compare than large Uint8Arrays. */
const hexes = (frames: Uint8Array[]) => frames.map((f) => Buffer.from(f).toString('hex'));

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'NO_THROW';
}

const sizes = fc.array(fc.oneof(fc.integer({ min: 4, max: 40 }), fc.integer({ min: 4, max: 3000 })), {
  maxLength: 30,
});

describe('Deframer', () => {
  it('random chunking of a stream of frames yields exactly those frames', () => {
    fc.assert(
      fc.property(sizes, fc.array(fc.nat(), { maxLength: 40 }), (frameSizes, cutSeeds) => {
        const frames = frameSizes.map((s, i) => frame(s, i));
        const stream = concat(frames);
        const cuts = [...new Set(cutSeeds.map((c) => (stream.length ? c % (stream.length + 1) : 0)))].sort(
          (a, b) => a - b,
        );
        const d = new Deframer();
        const out: Uint8Array[] = [];
        let prev = 0;
        for (const c of [...cuts, stream.length]) {
          out.push(...d.push(stream.subarray(prev, c)));
          prev = c;
        }
        expect(hexes(out)).toEqual(hexes(frames));
        expect(d.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('byte-by-byte feeding works', () => {
    const frames = [frame(4), frame(5), frame(300, 1), frame(4)];
    const stream = concat(frames);
    const d = new Deframer();
    const out: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    expect(out).toEqual(frames);
  });

  it('many small frames in one chunk', () => {
    const frames = Array.from({ length: 20_000 }, (_, i) => frame(4 + (i % 8), i));
    const out = new Deframer().push(concat(frames));
    expect(out.length).toBe(frames.length);
    expect(hexes(out)).toEqual(hexes(frames));
  });

  it('handles a 65535-byte frame, whole and in pieces', () => {
    const big = frame(65535, 7);
    expect(hexes(new Deframer().push(big))).toEqual(hexes([big]));
    const d = new Deframer();
    const out: Uint8Array[] = [];
    for (let i = 0; i < big.length; i += 1000) out.push(...d.push(big.subarray(i, i + 1000)));
    expect(hexes(out)).toEqual(hexes([big]));
    // Followed by another big one and a small one in a single odd chunking.
    const stream = concat([big, frame(65535, 9), frame(4)]);
    const d2 = new Deframer();
    const out2 = [
      ...d2.push(stream.subarray(0, 1)),
      ...d2.push(stream.subarray(1, 70000)),
      ...d2.push(stream.subarray(70000)),
    ];
    expect(out2.map((f) => f.length)).toEqual([65535, 65535, 4]);
    expect(hexes(out2)).toEqual(hexes([big, frame(65535, 9), frame(4)]));
  });

  it('returns copies, not views into the chunk or its buffer', () => {
    const chunk = concat([frame(6), frame(4)]);
    const d = new Deframer();
    const first = d.push(chunk.subarray(0, 8));
    const rest = d.push(chunk.subarray(8));
    chunk.fill(0xee);
    expect([...first, ...rest]).toEqual([frame(6), frame(4)]);
  });

  it('reports pending bytes of an incomplete frame', () => {
    const d = new Deframer();
    expect(d.push(frame(10).subarray(0, 3))).toEqual([]);
    expect(d.pending).toBe(3);
    expect(d.push(frame(10).subarray(3))).toEqual([frame(10)]);
    expect(d.pending).toBe(0);
  });

  it('empty chunks are harmless', () => {
    const d = new Deframer();
    expect(d.push(new Uint8Array(0))).toEqual([]);
    expect(d.push(frame(4).subarray(0, 1))).toEqual([]);
    expect(d.push(new Uint8Array(0))).toEqual([]);
    expect(d.push(frame(4).subarray(1))).toEqual([frame(4)]);
  });

  for (const size of [0, 1, 2, 3]) {
    it(`rejects declared size ${size} as soon as the size bytes are seen`, () => {
      expect(codeOf(() => new Deframer().push(Uint8Array.of(0, size)))).toBe('SIZE_TOO_SMALL');
    });
  }

  it('rejects size < 4 when the size bytes straddle chunks', () => {
    const d = new Deframer();
    expect(d.push(Uint8Array.of(0))).toEqual([]);
    expect(codeOf(() => d.push(Uint8Array.of(3)))).toBe('SIZE_TOO_SMALL');
  });

  it('rejects size < 4 after valid frames and is dead afterwards', () => {
    const d = new Deframer();
    expect(codeOf(() => d.push(concat([frame(4), Uint8Array.of(0, 2, 9, 9)])))).toBe('SIZE_TOO_SMALL');
    expect(codeOf(() => d.push(frame(4)))).toBe('SIZE_TOO_SMALL');
    expect(codeOf(() => d.push(new Uint8Array(0)))).toBe('SIZE_TOO_SMALL');
  });

  it('never holds more than one maximal message', () => {
    const d = new Deframer();
    d.push(frame(65535).subarray(0, 65534));
    expect(d.pending).toBe(65534);
    const out = d.push(concat([frame(65535).subarray(65534), frame(65535).subarray(0, 10)]));
    expect(hexes(out)).toEqual(hexes([frame(65535)]));
    expect(d.pending).toBe(10);
  });
});
