// FrameChunker (issue 17): the track capture's blocks (10 ms in Chromium, any size in principle)
// become the encoder's 20 ms frames, sample for sample, each stamped with its first sample's clock.
import { describe, expect, it } from 'vitest';
import { FRAME, FrameChunker } from '../../client/src/lib/audio/track-capture.ts';

function collect() {
  const frames: { pcm: Float32Array; at: number }[] = [];
  const c = new FrameChunker((pcm, at) => frames.push({ pcm, at }));
  return { c, frames };
}

/** A ramp: sample i has value i (exact in f32 up to 2^24). */
const ramp = (from: number, n: number) => Float32Array.from({ length: n }, (_, i) => from + i);

describe('FrameChunker', () => {
  it('joins 10 ms blocks into 20 ms frames stamped with their first sample', () => {
    const { c, frames } = collect();
    for (let b = 0; b < 6; b++) c.push(ramp(b * 480, 480), 1000 + b * 480);
    expect(frames.map((f) => f.at)).toEqual([1000, 1960, 2920]);
    for (const [k, f] of frames.entries()) expect(f.pcm).toEqual(ramp(k * FRAME, FRAME));
  });

  it('cuts blocks of any size, losing and repeating no sample', () => {
    const { c, frames } = collect();
    let at = 0;
    for (const n of [128, 1000, 7, 960, 441, 2000, 3, 1]) {
      c.push(ramp(at, n), at);
      at += n;
    }
    expect(frames.length).toBe(Math.floor(at / FRAME));
    const all = new Float32Array(frames.length * FRAME);
    for (const [k, f] of frames.entries()) {
      all.set(f.pcm, k * FRAME);
      expect(f.at).toBe(k * FRAME);
    }
    expect(all).toEqual(ramp(0, all.length));
  });

  it('hands out a new array per frame (the encoder may keep it)', () => {
    const { c, frames } = collect();
    c.push(ramp(0, 3 * FRAME), 0);
    expect(new Set(frames.map((f) => f.pcm)).size).toBe(3);
    expect(frames[0]!.pcm[0]).toBe(0);
  });

  it('does not splice a frame across a discontinuity in the track clock', () => {
    const { c, frames } = collect();
    c.push(ramp(0, 480), 0);
    c.push(ramp(5000, 480), 5000); // 4520 samples went missing
    c.push(ramp(5480, 480), 5480);
    expect(c.discontinuities).toBe(1);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.at).toBe(5000);
    expect(frames[0]!.pcm).toEqual(ramp(5000, FRAME));
  });

  it('takes a block off by a rounded microsecond as continuous', () => {
    const { c, frames } = collect();
    c.push(ramp(0, 480), 0);
    c.push(ramp(480, 480), 481);
    expect(c.discontinuities).toBe(0);
    expect(frames).toHaveLength(1);
  });
});
