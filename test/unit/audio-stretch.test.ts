// A steady playout delay (issue 17): the jitter buffer's excess is taken out by playing up to 2 %
// fast (playbackRate) instead of dropping whole 20 ms frames, so the echo canceller keeps its lock.
import { describe, expect, it } from 'vitest';
import { JitterBuffer } from '../../client/src/lib/audio/jitter-buffer.ts';
import { MAX_STRETCH, playbackRate, RateControl } from '../../client/src/lib/audio/playout.ts';
import { workletMain } from '../../client/src/lib/audio/worklet-main.ts';

describe('playbackRate', () => {
  it('plays at exactly 1 near zero and before playout starts', () => {
    expect(playbackRate(undefined)).toBe(1);
    expect(playbackRate(2)).toBe(1);
    expect(playbackRate(-3)).toBe(1);
  });
  it('is proportional to the excess and capped at 2 %', () => {
    expect(playbackRate(10)).toBeCloseTo(1.01, 6);
    expect(playbackRate(-10)).toBeCloseTo(0.99, 6);
    expect(playbackRate(500)).toBeCloseTo(1 + MAX_STRETCH, 6);
    expect(playbackRate(-500)).toBeCloseTo(1 - MAX_STRETCH, 6);
  });
});

describe('RateControl', () => {
  it('glides only once the excess leaves the band, and plays at 1.0 again near zero', () => {
    const rc = new RateControl();
    expect(rc.update(8)).toBe(1); // the wobble inside the band: bit-exact playout
    expect(rc.update(-9)).toBe(1);
    expect(rc.update(15)).toBeCloseTo(1.015, 6); // out of the band: glide
    expect(rc.update(8)).toBeCloseTo(1.008, 6); // keeps gliding back towards zero
    expect(rc.update(2)).toBe(1); // there
    expect(rc.update(8)).toBe(1);
    expect(rc.update(undefined)).toBe(1);
  });
});

/** Frames arrive every 20 ms after 30 ms; the player pulls every 20/rate ms from `startAt`. */
function glide(startAt: number, stretchMs: number, seconds = 8) {
  const jb = new JitterBuffer({ stretchMs });
  const rc = new RateControl();
  const delays: number[] = [];
  let t = startAt;
  let seq = 0;
  let arrived = 0;
  while (t < seconds * 1000) {
    while (arrived * 20 + 30 <= t) {
      jb.push(arrived, new Uint8Array([1]), arrived * 20 + 30);
      arrived++;
    }
    jb.pull(t);
    delays.push(jb.stats().delayMs);
    t += 20 / rc.update(jb.excessMs());
    seq++;
  }
  return { jb, delays, pulls: seq };
}

describe('jitter buffer with a stretching player', () => {
  it('takes 40 ms of excess out smoothly: no frame dropped, no step over half a millisecond', () => {
    // Playout starts 40 ms late (a main-thread stall at the start, say): 40 ms above the band.
    const { jb, delays } = glide(30 + 20 + 40 + 7, 60);
    const s = jb.stats();
    expect(s.dropped).toBe(0);
    expect(s.expanded).toBe(0);
    expect(s.lost).toBe(0);
    const steps = delays.slice(2).map((d, i) => Math.abs(d - delays[i + 1]!));
    expect(Math.max(...steps)).toBeLessThanOrEqual(0.5);
    // And it gets there: within the band (marginMs 20 ± 10 of slack -> delay 20 ± 10) in 8 s.
    expect(delays.at(-1)!).toBeLessThanOrEqual(25);
  });

  it('without stretching, the same start drops whole frames: steps of 20 ms (the old behaviour)', () => {
    const { jb, delays } = glide(30 + 20 + 40 + 7, 0);
    expect(jb.stats().dropped).toBeGreaterThan(0);
    const steps = delays.slice(2).map((d, i) => Math.abs(d - delays[i + 1]!));
    expect(Math.max(...steps)).toBeGreaterThanOrEqual(19);
  });

  it('still drops at once far above the band (a start-up backlog is not glided out for seconds)', () => {
    const { jb } = glide(30 + 20 + 200 + 7, 60, 3);
    expect(jb.stats().dropped).toBeGreaterThan(0);
  });
});

// The playback worklet, run in Node with the few globals an AudioWorkletGlobalScope gives it.
type Proc = {
  port: { onmessage: (e: { data: unknown }) => void; posted: unknown[] };
  process(i: Float32Array[][], o: Float32Array[][]): boolean;
};
function playback(prefill = 960): Proc {
  const g = globalThis as unknown as Record<string, unknown>;
  const procs = new Map<string, new (o: unknown) => Proc>();
  g.AudioWorkletProcessor = class {
    port = {
      onmessage: (_: unknown) => {},
      posted: [] as unknown[],
      postMessage(m: unknown) {
        this.posted.push(m);
      },
    };
  };
  g.registerProcessor = (name: string, c: new (o: unknown) => Proc) => procs.set(name, c);
  g.currentFrame = 0;
  workletMain();
  const P = procs.get('voice-playback')!;
  return new P({ processorOptions: { prefill } });
}

function render(p: Proc, quanta: number): Float32Array {
  const out = new Float32Array(quanta * 128);
  for (let q = 0; q < quanta; q++) {
    const o = [[new Float32Array(128)]];
    p.process([], o);
    out.set(o[0]![0]!, q * 128);
  }
  return out;
}

describe('playback worklet at a rate', () => {
  const ramp = (n: number, from: number) => Float32Array.from({ length: n }, (_, i) => (from + i) / 1e4);

  it('at rate 1 plays the ring bit-exact, one tick per 960 samples', () => {
    const p = playback();
    for (let f = 0; f < 4; f++) p.port.onmessage({ data: ramp(960, f * 960) });
    const out = render(p, 15); // 1920 samples
    expect(Array.from(out)).toEqual(Array.from(ramp(1920, 0)));
    expect(p.port.posted.filter((m) => (m as { tick?: number }).tick !== undefined)).toHaveLength(2);
  });

  it('at rate 1.02 reads 2 % more of the ring, interpolated, and ticks sooner', () => {
    const p = playback();
    for (let f = 0; f < 8; f++) p.port.onmessage({ data: ramp(960, f * 960) });
    p.port.onmessage({ data: { rate: 1.02 } });
    const out = render(p, 45); // 5760 output samples
    // A ramp stays a ramp, with a slope 2 % steeper.
    const slope = (out[5000]! - out[1000]!) / 4000;
    expect(slope * 1e4).toBeCloseTo(1.02, 3);
    const ticks = () => p.port.posted.filter((m) => (m as { tick?: number }).tick !== undefined).length;
    expect(ticks()).toBe(6); // 5760 * 1.02 = 5875 samples consumed
    render(p, 7); // 6656 rendered: at rate 1 still 6 ticks, at 1.02 6789 consumed -> the 7th
    expect(ticks()).toBe(7);
  });

  it('ignores a rate far from 1 (a hostile or buggy message cannot speed speech up)', () => {
    const p = playback();
    for (let f = 0; f < 4; f++) p.port.onmessage({ data: ramp(960, f * 960) });
    p.port.onmessage({ data: { rate: 2 } });
    expect(Array.from(render(p, 7))).toEqual(Array.from(ramp(896, 0)));
  });
});
