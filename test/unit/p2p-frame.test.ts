// FrameReader under hostile chunking: any split of a stream gives the same frames, nothing beyond
// one incomplete frame is held, and bytes trickled in one at a time cost linear, not quadratic, work.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeHeader, FrameReader, LinkViolation, MAX_FRAME_SIZE } from '../../relay/p2p/frame.ts';

function frame(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out.set(encodeHeader(4 + body.length, type), 0);
  out.set(body, 4);
  return out;
}

function* chunks(b: Uint8Array, sizes: number[]): Generator<Uint8Array> {
  let off = 0;
  for (let i = 0; off < b.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    yield b.slice(off, off + n);
    off += n;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('FrameReader chunking', () => {
  it('any chunking of any frame sequence yields the same frames; it holds at most one frame', () => {
    const frameArb = fc.record({
      type: fc.integer({ min: 0, max: 65535 }),
      body: fc.uint8Array({ maxLength: 600 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 10 }),
        (fs, sizes) => {
          const stream = new Uint8Array(fs.flatMap((f) => [...frame(f.type, f.body)]));
          const r = new FrameReader(1024);
          const got = [];
          for (const c of chunks(stream, sizes)) {
            got.push(...r.push(c));
            expect(r.buffered).toBeLessThanOrEqual(604);
          }
          expect(r.buffered).toBe(0);
          expect(got.map((f) => ({ type: f.type, body: f.body }))).toEqual(fs);
          for (const [i, f] of got.entries())
            expect([...f.header]).toEqual([...encodeHeader(4 + fs[i]!.body.length, fs[i]!.type)]);
        },
      ),
    );
  });

  it('frames handed out are copies: later input does not change them', () => {
    const r = new FrameReader(1024);
    const a = frame(1100, new Uint8Array([1, 2, 3]));
    r.push(a.subarray(0, 5));
    const [f] = r.push(a.subarray(5));
    r.push(frame(1100, new Uint8Array([9, 9, 9])).subarray(0, 6));
    expect([...f!.body]).toEqual([1, 2, 3]);
  });

  it('checks the size as soon as the header is complete, even when it arrives byte by byte', () => {
    const r = new FrameReader(1024);
    const h = encodeHeader(1025, 1100);
    expect(r.push(h.subarray(0, 1))).toEqual([]);
    expect(r.push(h.subarray(1, 3))).toEqual([]);
    expect(() => r.push(h.subarray(3))).toThrow(/limit 1024/);
    const ok = frame(1, new Uint8Array(10));
    const r2 = new FrameReader(1024);
    expect(() => r2.push(new Uint8Array([...ok, ...encodeHeader(2, 1)]))).toThrow(LinkViolation);
  });

  it('a 64 KiB frame sent one byte at a time costs linear copying (was ~2 GB copied, ~340 ms)', () => {
    const body = new Uint8Array(MAX_FRAME_SIZE - 4).map((_, i) => i & 0xff);
    const bytes = frame(1100, body);
    const set = vi.spyOn(Uint8Array.prototype, 'set');
    const r = new FrameReader(MAX_FRAME_SIZE);
    const got = [];
    const t0 = process.cpuUsage();
    for (let i = 0; i < bytes.length; i++) got.push(...r.push(bytes.subarray(i, i + 1)));
    const cpu = process.cpuUsage(t0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const copied = set.mock.calls.reduce((n, [src]) => n + (src as ArrayLike<number>).length, 0);
    vi.restoreAllMocks();
    expect(got).toHaveLength(1);
    expect(got[0]!.body).toEqual(body);
    // Each byte is copied into the buffer once, plus at most the buffer's doublings.
    expect(copied).toBeLessThan(4 * bytes.length);
    console.log(`64 KiB frame in 1-byte chunks: ${copied} bytes copied, ${cpuMs.toFixed(0)} ms CPU`);
  });
});
