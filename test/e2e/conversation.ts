// A scripted conversation for two virtual mouths (pulse-rig.ts), and the figures a person would
// notice in the recording of it: shared by the voice e2e test and the call benchmark.
//
//   lead-in | A talks | pause | B talks | pause | ... (turns) | both talk at once | tail
import {
  active,
  db,
  echoPerSecond,
  frameRms,
  type Heard,
  heard,
  type Lag,
  lags,
  pathGainDb,
} from './hearing.ts';
import type { Recording } from './pulse-rig.ts';
import { crossCorrelate, decimate, percentile, readWav, SAMPLE_RATE, speechWav } from './voice-helpers.ts';

const A_LINES = [
  'Hello, can you hear me? This is Alice calling.',
  'The quick brown fox jumps over the lazy dog.',
  'I will be home at seven, so we can have dinner together.',
  'Pack my box with five dozen liquor jugs, please.',
];
const B_LINES = [
  'Yes, I hear you fine. Bob speaking here.',
  'Seven, eight, nine, ten. How are you today?',
  'That sounds good to me, see you tonight then.',
  'A wizard quickly jinxed the gnomes before they vaporized.',
];
const A_DOUBLE = 'Now we are both talking at the same time, and I keep on going for quite a while longer.';
const B_DOUBLE = 'While you talk I talk too, counting one, two, three, four, five, six, seven, eight.';

export interface Segment {
  who: 'A' | 'B';
  fromS: number;
  toS: number;
}

export interface Script {
  a: Float32Array;
  b: Float32Array;
  turns: Segment[];
  double?: { fromS: number; toS: number };
  lengthS: number;
}

function voice(dir: string, text: string, name: string, v: string): Float32Array {
  return readWav(speechWav(dir, text, `${name}.wav`, 0, v));
}

/** `turns` turns each (A first), then `doubleS` > 0 seconds of both talking. */
export function conversation(dir: string, o: { turns: number; double: boolean; leadS?: number }): Script {
  const parts: { who: 'A' | 'B'; pcm: Float32Array }[] = [];
  for (let i = 0; i < o.turns; i++) {
    parts.push({ who: 'A', pcm: voice(dir, A_LINES[i % A_LINES.length]!, `a${i}`, 'en+f3') });
    parts.push({ who: 'B', pcm: voice(dir, B_LINES[i % B_LINES.length]!, `b${i}`, 'en+m3') });
  }
  const pause = 0.8 * SAMPLE_RATE;
  let at = Math.round((o.leadS ?? 0.5) * SAMPLE_RATE);
  const turns: Segment[] = [];
  const place: { who: 'A' | 'B'; pcm: Float32Array; at: number }[] = [];
  for (const p of parts) {
    place.push({ ...p, at });
    turns.push({ who: p.who, fromS: at / SAMPLE_RATE, toS: (at + p.pcm.length) / SAMPLE_RATE });
    at += p.pcm.length + pause;
  }
  let double: Script['double'];
  if (o.double) {
    const da = voice(dir, A_DOUBLE, 'ad', 'en+f3');
    const dbb = voice(dir, B_DOUBLE, 'bd', 'en+m3');
    place.push({ who: 'A', pcm: da, at }, { who: 'B', pcm: dbb, at });
    const len = Math.min(da.length, dbb.length);
    double = { fromS: at / SAMPLE_RATE, toS: (at + len) / SAMPLE_RATE };
    at += Math.max(da.length, dbb.length) + pause;
  }
  const total = at + SAMPLE_RATE; // a second of tail for the last words to arrive
  const a = new Float32Array(total);
  const b = new Float32Array(total);
  for (const p of place) (p.who === 'A' ? a : b).set(p.pcm, p.at);
  return { a, b, turns, double, lengthS: total / SAMPLE_RATE };
}

/** Where the script starts in the recording (s): its track A against microphone A. */
export function scriptOffsetS(script: Script, rec: Recording): number {
  const probe = decimate(script.a.subarray(0, Math.min(script.a.length, 6 * SAMPLE_RATE)), 6);
  const ref = decimate(rec.ch[0], 6);
  return crossCorrelate(probe, ref).lag / 8000;
}

export interface Direction {
  /** Mouth-to-ear delay of every matched window (ms), in order. */
  lags: Lag[];
  p50: number;
  p95: number;
  /** The first second of the talker's first turn: its windows' median delay (ms). */
  firstMs: number;
  /** Share heard and gaps while one talks alone, and while both talk. */
  single: Heard;
  double?: Heard;
  gainDb: number;
}

export interface Figures {
  ab: Direction;
  ba: Direction;
  /** Per second of A's own turns: how far below A's voice her own speaker stayed (dB). */
  echoA: number[];
  /** When each of echoA's seconds began, s from the script's start. */
  echoAtS: number[];
}

function direction(script: Script, rec: Recording, off: number, talker: 'A' | 'B'): Direction | undefined {
  const [ref, out] = talker === 'A' ? [rec.ch[0], rec.ch[3]] : [rec.ch[1], rec.ch[2]];
  const mine = script.turns.filter((t) => t.who === talker);
  const all: Lag[] = [];
  for (const t of mine)
    all.push(...lags(ref, out, { fromS: off + t.fromS, toS: off + t.toS + 1, winMs: 400, stepMs: 200 }));
  if (all.length === 0) return undefined;
  const ms = all.map((l) => l.ms);
  const p50 = percentile(ms, 0.5);
  const first = mine[0]!;
  const early = all.filter((l) => l.atS < off + first.fromS + 1.2).map((l) => l.ms);
  const span = { fromS: off + mine[0]!.fromS, toS: off + mine.at(-1)!.toS };
  const gainDb = pathGainDb(ref, out, p50, span);
  const single = heard(ref, out, p50, gainDb, span);
  let dbl: Heard | undefined;
  if (script.double) {
    // Judged at the delay of that moment, not the turns' p50: the playout delay moves (a
    // switch-over, the jitter buffer catching up), and a frame compared 60 ms off its own delay
    // reads as "not heard" (a quiet run measured 198 ms alone, 258 ms in double talk).
    const span2 = { fromS: off + script.double.fromS, toS: off + script.double.toS };
    const dl = lags(ref, out, { ...span2, toS: span2.toS + 1, winMs: 400, stepMs: 200 }).map((l) => l.ms);
    dbl = heard(ref, out, dl.length >= 3 ? percentile(dl, 0.5) : p50, gainDb, span2);
  }
  return {
    lags: all,
    p50,
    p95: percentile(ms, 0.95),
    firstMs: early.length ? percentile(early, 0.5) : Number.NaN,
    single,
    double: dbl,
    gainDb,
  };
}

/** The figures of one recorded conversation (undefined: a direction carried nothing). */
export function figures(script: Script, rec: Recording): Figures | undefined {
  const off = scriptOffsetS(script, rec);
  const ab = direction(script, rec, off, 'A');
  const ba = direction(script, rec, off, 'B');
  if (!ab || !ba) return undefined;
  // Echo: A's speaker during her own turns and the round trip after (B's voice is not there).
  const echoA: number[] = [];
  const echoAtS: number[] = [];
  for (const t of script.turns.filter((x) => x.who === 'A')) {
    const from = off + t.fromS + 0.3;
    const e = echoPerSecond(rec.ch[0], rec.ch[2], from, off + t.toS + 0.6);
    echoA.push(...e);
    echoAtS.push(...e.map((_, i) => Math.ceil(from) + i - off));
  }
  return { ab, ba, echoA, echoAtS };
}

/** Share (%) of `talker`'s speech frames with any sound at the listener (a plain carried-or-not). */
export function carried(rec: Recording, talker: 'A' | 'B', fromS: number, toS: number): number {
  const [ref, out] = talker === 'A' ? [rec.ch[0], rec.ch[3]] : [rec.ch[1], rec.ch[2]];
  const act = active(frameRms(ref));
  const q = frameRms(out);
  let n = 0;
  let got = 0;
  for (let f = Math.floor(fromS * 50); f < Math.min(act.length, q.length, toS * 50); f++) {
    if (!act[f]) continue;
    n++;
    if (db(Math.max(...q.subarray(f, f + 40))) > -50) got++; // heard within 800 ms
  }
  return n ? (100 * got) / n : 0;
}
