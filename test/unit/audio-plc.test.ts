import { describe, expect, it } from 'vitest';
import { Concealer } from '../../client/src/lib/audio/plc.ts';

const N = 960;
function tone(frame: number, hz = 200): Float32Array {
  return Float32Array.from(
    { length: N },
    (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * (frame * N + i)) / 48000),
  );
}
const rms = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);

describe('loss concealment', () => {
  it('continues a voiced sound through a lost frame, then fades it out over a long gap', () => {
    const c = new Concealer(N);
    for (let f = 0; f < 5; f++) c.good(tone(f));
    const first = c.conceal();
    // Same pitch: the concealed frame correlates strongly with the frame that was lost.
    const truth = tone(5);
    const corr = first.reduce((a, v, i) => a + v * truth[i]!, 0) / (rms(first) * rms(truth) * N);
    expect(corr).toBeGreaterThan(0.9);
    // No click at the seam: the first sample is close to where the signal was heading.
    expect(Math.abs(first[0]! - truth[0]!)).toBeLessThan(0.1);
    let last = first;
    for (let i = 0; i < 15; i++) last = c.conceal();
    expect(rms(last)).toBeLessThan(0.05 * rms(first));
  });

  it('cross-fades into the first real frame after the gap', () => {
    const c = new Concealer(N);
    for (let f = 0; f < 5; f++) c.good(tone(f));
    const gap = c.conceal();
    const next = c.good(tone(6));
    // The joint between the concealed frame and the real one has no step bigger than the tone's.
    expect(Math.abs(next[0]! - gap[N - 1]!)).toBeLessThan(0.1);
  });

  it('conceals silence as silence (no state: nothing to invent)', () => {
    const c = new Concealer(N);
    expect(rms(c.conceal())).toBe(0);
  });
});
