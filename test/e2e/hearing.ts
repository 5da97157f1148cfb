// What a person hears, from a recording of the devices (pulse-rig.ts): for the voice e2e tests and
// the call benchmark. All inputs are 48 kHz mono tracks on one clock; `ref` is what went into a
// microphone (the talker's mouth), `out` what the listener's speaker played.
import { crossCorrelate, decimate, percentile, SAMPLE_RATE as RATE_HZ } from './voice-helpers.ts';

const FRAME = 960; // 20 ms

/** RMS of each 20 ms frame. */
export function frameRms(x: Float32Array): Float64Array {
  const n = Math.floor(x.length / FRAME);
  const out = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    let s = 0;
    for (let i = f * FRAME; i < (f + 1) * FRAME; i++) s += x[i]! * x[i]!;
    out[f] = Math.sqrt(s / FRAME);
  }
  return out;
}

export const db = (ratio: number) => 20 * Math.log10(Math.max(ratio, 1e-12));

/** Frames of `x` with speech: RMS within 30 dB of the track's loud frames (its 90th percentile). */
export function active(rms: Float64Array): boolean[] {
  const loud =
    percentile(
      Array.from(rms).filter((v) => v > 1e-5),
      0.9,
    ) || 1;
  return Array.from(rms, (v) => v > loud * 0.0316);
}

export interface Lag {
  /** Where the output window starts (s from the recording's start). */
  atS: number;
  /** Delay from mouth to ear (ms). */
  ms: number;
  /** Normalized correlation at the peak (1 = same waveform). */
  peak: number;
}

/**
 * Mouth-to-ear delay of each `winMs` window of `out` that carries sound: cross-correlated (8 kHz)
 * against the `maxMs` of `ref` before it. Windows whose best match is weak (peak < minPeak: noise,
 * or another voice) are left out.
 */
export function lags(
  ref: Float32Array,
  out: Float32Array,
  o: { fromS?: number; toS?: number; winMs?: number; stepMs?: number; maxMs?: number; minPeak?: number } = {},
): Lag[] {
  const f = 6; // 48 kHz -> 8 kHz
  const r = decimate(ref, f);
  const q = decimate(out, f);
  const per = RATE_HZ / f / 1000; // samples per ms at 8 kHz
  const win = Math.round((o.winMs ?? 500) * per);
  const step = Math.round((o.stepMs ?? 250) * per);
  const max = Math.round((o.maxMs ?? 1000) * per);
  const from = Math.round((o.fromS ?? 0) * 1000 * per);
  const to = Math.min(q.length, Math.round((o.toS ?? Number.POSITIVE_INFINITY) * 1000 * per));
  const res: Lag[] = [];
  for (let at = Math.max(from, max); at + win <= to; at += step) {
    const probe = q.subarray(at, at + win);
    let e = 0;
    for (const v of probe) e += v * v;
    if (Math.sqrt(e / win) < 1e-3) continue; // silence: nothing to match
    const c = crossCorrelate(probe, r.subarray(at - max, at + win));
    if (c.peak < (o.minPeak ?? 0.3)) continue;
    res.push({ atS: at / per / 1000, ms: (max - c.lag) / per, peak: c.peak });
  }
  return res;
}

export interface Heard {
  /** Share of the talker's speech frames the listener heard (%). */
  pct: number;
  /** Runs of speech frames not heard, 40 ms or longer (ms each). */
  gaps: number[];
}

/**
 * How much of the talker's speech (`ref` frames with speech, fromS..toS) reached the listener's
 * speaker `delayMs` later, not pushed down by more than `dropDb` against the path's usual gain
 * (`gainDb`, measured while one talks alone). A frame the echo canceller or a concealment gap
 * swallowed counts as not heard.
 */
export function heard(
  ref: Float32Array,
  out: Float32Array,
  delayMs: number,
  gainDb: number,
  o: { fromS: number; toS: number; dropDb?: number },
): Heard {
  const r = frameRms(ref);
  const q = frameRms(out);
  const act = active(r);
  const shift = Math.round(delayMs / 20);
  const lo = Math.floor(o.fromS * 50);
  const hi = Math.min(r.length, q.length - shift - 1, Math.floor(o.toS * 50));
  let spoken = 0;
  let got = 0;
  let run = 0;
  const gaps: number[] = [];
  for (let f = lo; f < hi; f++) {
    if (!act[f]) continue;
    spoken++;
    // The delay wanders by a frame or so: the best of the neighbours counts.
    const o3 = Math.max(q[f + shift - 1] ?? 0, q[f + shift]!, q[f + shift + 1]!);
    const ok = db(o3 / r[f]!) >= gainDb - (o.dropDb ?? 15);
    if (ok) {
      got++;
      if (run >= 2) gaps.push(run * 20);
      run = 0;
    } else run++;
  }
  if (run >= 2) gaps.push(run * 20);
  return { pct: spoken ? (100 * got) / spoken : Number.NaN, gaps };
}

/** Median gain (dB) of the path from `ref` to `out` over the speech frames of fromS..toS. */
export function pathGainDb(
  ref: Float32Array,
  out: Float32Array,
  delayMs: number,
  o: { fromS: number; toS: number },
): number {
  const r = frameRms(ref);
  const q = frameRms(out);
  const act = active(r);
  const shift = Math.round(delayMs / 20);
  const g: number[] = [];
  for (let f = Math.floor(o.fromS * 50); f < Math.min(r.length, q.length - shift, o.toS * 50); f++)
    if (act[f] && q[f + shift]! > 0) g.push(db(q[f + shift]! / r[f]!));
  return percentile(g, 0.5);
}

/**
 * Echo: for each second of `own` (the talker's speaker) in fromS..toS, how far below the talker's
 * speech level (dB) it stays. `quietS` lists seconds to skip (the far end talking, whose voice is
 * rightly in the speaker).
 */
export function echoPerSecond(mouth: Float32Array, own: Float32Array, fromS: number, toS: number): number[] {
  const level = percentile(
    Array.from(frameRms(mouth)).filter((v) => v > 1e-4),
    0.5,
  );
  const q = frameRms(own);
  const res: number[] = [];
  for (let s = Math.ceil(fromS); s + 1 <= toS; s++) {
    let e = 0;
    for (let f = s * 50; f < (s + 1) * 50 && f < q.length; f++) e += q[f]! * q[f]!;
    res.push(db(level / Math.max(Math.sqrt(e / 50), 1e-7)));
  }
  return res;
}
