// Shared by the voice e2e tests and the voice benchmark: fake-microphone WAVs (espeak-ng + sox),
// a Chromium with that microphone, the Vite dev server for the audio harness, and the signal
// analysis (cross-correlation, beep onsets) done in Node on what the page tapped.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const SAMPLE_RATE = 48000;

/** Speech WAV (48 kHz mono 16-bit), followed by `padSeconds` of silence. */
export function speechWav(
  dir: string,
  text: string,
  name = 'speech.wav',
  padSeconds = 0.3,
  voice?: string,
): string {
  const raw = join(dir, `${name}.raw.wav`);
  const out = join(dir, name);
  execFileSync('espeak-ng', [...(voice ? ['-v', voice] : []), '-s', '150', '-w', raw, text]);
  execFileSync('sox', [raw, '-r', '48000', '-c', '1', '-b', '16', out, 'pad', '0', String(padSeconds)]);
  return out;
}

/** A train of `count` 40 ms 1 kHz beeps, one every `periodMs`. */
export function beepWav(dir: string, count = 20, periodMs = 500): string {
  const out = join(dir, 'beeps.wav');
  const gap = (periodMs - 40) / 1000;
  execFileSync('sox', [
    '-n',
    '-r',
    '48000',
    '-c',
    '1',
    '-b',
    '16',
    out,
    'synth',
    '0.04',
    'sine',
    '1000',
    'vol',
    '0.7',
    'pad',
    '0',
    String(gap),
    'repeat',
    String(count - 1),
  ]);
  return out;
}

export function readWav(path: string): Float32Array {
  const b = readFileSync(path);
  let off = 12;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'data') {
      const n = Math.min(size, b.length - off - 8) >> 1;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = b.readInt16LE(off + 8 + 2 * i) / 32768;
      return out;
    }
    off += 8 + size + (size & 1);
  }
  throw new Error(`no data chunk in ${path}`);
}

export function fromBase64(s: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  const i16 = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
  return Float32Array.from(i16, (v) => v / 32768);
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  // The product plays through NetEq's loopback pair of peer connections (neteq.ts): on 127.0.0.1
  // with this flag, where a stock browser uses the machine's own interface addresses.
  '--allow-loopback-in-peer-connection',
];

export function launchChromium(wav: string): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${wav}`],
  });
}

/** Vite dev server for the client on 127.0.0.1; returns its base URL and a close function. */
export async function startVite(): Promise<{ url: string; close: () => Promise<void> }> {
  const { createServer } = await import('vite');
  const server = await createServer({
    configFile: join(import.meta.dirname, '../../vite.config.ts'),
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
  });
  await server.listen();
  const addr = server.httpServer!.address();
  if (!addr || typeof addr === 'string') throw new Error('vite did not bind');
  return { url: `http://127.0.0.1:${addr.port}`, close: () => server.close() };
}

/** Averages blocks of `f` samples: 48 kHz -> 8 kHz with f = 6 (speech stays, cost drops 36x). */
export function decimate(x: Float32Array, f: number): Float64Array {
  const out = new Float64Array(Math.floor(x.length / f));
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let j = 0; j < f; j++) s += x[i * f + j]!;
    out[i] = s / f;
  }
  return out;
}

function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k);
        const wi = Math.sin(ang * k);
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

export interface Correlation {
  /** Lag (samples of the decimated signals) of `probe` inside `ref`. */
  lag: number;
  /** Normalized correlation coefficient at the peak (1 = identical shape). */
  peak: number;
  /** RMS of the coefficient over all other lags: the noise floor. */
  noise: number;
  ratio: number;
}

/**
 * Normalized cross-correlation of `probe` against every position in `ref` (ref longer than
 * probe). The coefficient at each lag divides by the energy of the ref window at that lag.
 */
export function crossCorrelate(probe: Float64Array, ref: Float64Array): Correlation {
  let n = 1;
  while (n < ref.length + probe.length) n <<= 1;
  const ar = new Float64Array(n);
  const ai = new Float64Array(n);
  const br = new Float64Array(n);
  const bi = new Float64Array(n);
  ar.set(ref);
  br.set(probe);
  fft(ar, ai, false);
  fft(br, bi, false);
  for (let i = 0; i < n; i++) {
    // ref * conj(probe)
    const r = ar[i]! * br[i]! + ai[i]! * bi[i]!;
    const im = ai[i]! * br[i]! - ar[i]! * bi[i]!;
    ar[i] = r;
    ai[i] = im;
  }
  fft(ar, ai, true);
  const pe = Math.sqrt(probe.reduce((a, v) => a + v * v, 0));
  const cum = new Float64Array(ref.length + 1);
  for (let i = 0; i < ref.length; i++) cum[i + 1] = cum[i]! + ref[i]! * ref[i]!;
  const lags = ref.length - probe.length + 1;
  const coef = new Float64Array(lags);
  for (let l = 0; l < lags; l++) {
    const re = Math.sqrt(cum[l + probe.length]! - cum[l]!);
    coef[l] = re > 1e-9 && pe > 1e-9 ? ar[l]! / n / (re * pe) : 0;
  }
  let lag = 0;
  for (let l = 1; l < lags; l++) if (coef[l]! > coef[lag]!) lag = l;
  let e = 0;
  let cnt = 0;
  for (let l = 0; l < lags; l++) {
    if (Math.abs(l - lag) < 40) continue; // skip the peak's own main lobe (5 ms at 8 kHz)
    e += coef[l]! * coef[l]!;
    cnt++;
  }
  const noise = Math.sqrt(e / Math.max(1, cnt));
  return { lag, peak: coef[lag]!, noise, ratio: coef[lag]! / Math.max(noise, 1e-9) };
}

/** A looped copy of `x`, long enough to hold `len` samples from any start (fake mics loop). */
export function loop(x: Float64Array, len: number): Float64Array {
  const out = new Float64Array(len + x.length);
  for (let i = 0; i < out.length; i++) out[i] = x[i % x.length]!;
  return out;
}

/** Context frames where beeps start: the envelope rises above `threshold` after >= 150 ms of quiet. */
export function beepOnsets(pcm: Float32Array, startFrame: number, threshold = 0.05): number[] {
  const out: number[] = [];
  let quiet = 0;
  for (let i = 0; i < pcm.length; i++) {
    if (Math.abs(pcm[i]!) >= threshold) {
      if (quiet >= 0.15 * SAMPLE_RATE) out.push(startFrame + i);
      quiet = 0;
    } else {
      quiet++;
    }
  }
  return out;
}

/** Pairs each output onset with the latest input onset before it; delays in ms. */
export function onsetDelays(input: number[], output: number[], maxMs = 450): number[] {
  const d: number[] = [];
  for (const o of output) {
    const prior = input.filter((i) => i <= o && o - i < (maxMs * SAMPLE_RATE) / 1000);
    if (prior.length > 0) d.push(((o - prior[prior.length - 1]!) * 1000) / SAMPLE_RATE);
  }
  return d;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}

/**
 * The audio code as one IIFE script (global `VoidAudio`), for pages of a client build that does not
 * include it yet: the test injects it and wires CallAudio to the page's engine itself.
 */
export async function audioBundle(): Promise<string> {
  const { build } = await import('vite');
  const out = await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      write: false,
      minify: false,
      lib: {
        entry: join(import.meta.dirname, '../../client/src/lib/audio/index.ts'),
        formats: ['iife'],
        name: 'VoidAudio',
        fileName: () => 'void-audio.js',
      },
    },
  });
  const res = (Array.isArray(out) ? out[0] : out) as { output: { type: string; code?: string }[] };
  const chunk = res.output.find((o) => o.type === 'chunk');
  if (!chunk?.code) throw new Error('audio bundle: no output');
  return chunk.code;
}
