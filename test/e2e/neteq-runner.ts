// Runs the NetEq experiment's page (client/src/lib/audio/harness/neteq.html) or our own audio path's
// (harness/index.html) with the same simulated network, and reads what each played against what it
// captured on one clock: correlation with the microphone's WAV, delay capture -> playout, stats.
// Used by test/e2e/voice-neteq.test.ts and the benchmark (`npm run bench -- call --parts=neteq`).
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, crossCorrelate, decimate, fromBase64, loop, readWav } from './voice-helpers.ts';

type Track = { startFrame: number; pcm: string };
type Harness = {
  start(o: object): Promise<void>;
  stats(): Promise<Record<string, number>> | Record<string, number>;
  tracks(): { input: Track; output: Track };
  stop(): Promise<void>;
};
declare const window: { voiceHarness: Harness; voiceNetEq: Harness };

export interface NetOptions {
  loss: number;
  jitterMs: number;
  /** NetEq's minimum delay hint, ms (NetEq page only). */
  targetMs?: number;
}

/** Chromium with the WAV as its microphone; NetEq's two peer connections talk over 127.0.0.1. */
export function launchForNetEq(wav: string): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      ...CHROMIUM_ARGS,
      `--use-file-for-fake-audio-capture=${wav}`,
      '--allow-loopback-in-peer-connection',
    ],
  });
}

export type Path = 'voiceHarness' | 'voiceNetEq';

/** Runs one harness for `seconds` of speech; returns its stats and what it played vs captured. */
export async function runPath(
  browser: Browser | BrowserContext,
  url: string,
  wav: string,
  which: Path,
  net: NetOptions,
  seconds: number,
) {
  const page: Page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  const html = which === 'voiceNetEq' ? 'neteq.html' : 'index.html';
  await page.goto(`${url}/src/lib/audio/harness/${html}`);
  await page.waitForFunction((w) => w in window, which, { timeout: 15_000 });
  await page.evaluate(([w, o]) => window[w as 'voiceNetEq'].start(o as object), [which, net] as const);
  // A window for the speech to play, then the recordings (a measurement window, not a wait for an event).
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const stats = await page.evaluate((w) => window[w as 'voiceNetEq'].stats(), which);
  const t = await page.evaluate((w) => window[w as 'voiceNetEq'].tracks(), which);
  await page.evaluate((w) => window[w as 'voiceNetEq'].stop(), which);
  await page.close();
  return { stats, ...figures(wav, t.input, t.output) };
}

/** Correlation of what was played with the WAV, and its delay behind what was captured (same clock). */
function figures(wav: string, input: Track, output: Track) {
  const src = decimate(readWav(wav), 6);
  const out = decimate(fromBase64(output.pcm), 6);
  const inp = decimate(fromBase64(input.pcm), 6);
  const probe = out.subarray(8000, 8000 + 16_000); // 2 s, after the first second
  const heard = crossCorrelate(probe, loop(src, probe.length));
  // Where in the capture (up to 1 s earlier) the probe came from: the delay, capture to playout.
  const probeStart = output.startFrame / 6 + 8000;
  const refStart = Math.max(0, Math.round(probeStart - 8000 - input.startFrame / 6));
  const ref = inp.subarray(refStart, refStart + 16_000 + 8000);
  const c = crossCorrelate(probe, ref);
  const delayMs = ((probeStart - (input.startFrame / 6 + refStart + c.lag)) / 8000) * 1000;
  return { heard, delayMs: Math.round(delayMs), delayPeak: c.peak };
}
