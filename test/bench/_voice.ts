// Part 3 of `npm run bench -- call`: the audio path in real Chromium (no relays), fed by a beep-train fake
// microphone. Prints mouth-to-ear latency p50/p95 (capture worklet -> playback worklet, one clock,
// plus the context's reported output latency), and what concealment did under loss and jitter.
// The relay-side figures (switch-over gap, link bytes idle vs call) come from part 2 (_onion-voice.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  beepOnsets,
  beepWav,
  fromBase64,
  launchChromium,
  onsetDelays,
  percentile,
  startVite,
} from '../e2e/voice-helpers.ts';

type Harness = {
  start(o: object): Promise<void>;
  stats(): Record<string, number>;
  latencies(): { base: number; output: number };
  tracks(): { input: { startFrame: number; pcm: string }; output: { startFrame: number; pcm: string } };
  stop(): Promise<void>;
};
declare const window: { voiceHarness: Harness };

interface Scenario {
  name: string;
  net: { loss: number; baseMs: number; jitterMs: number };
}

const SCENARIOS: Scenario[] = [
  { name: 'loopback (5 ms path)', net: { loss: 0, baseMs: 5, jitterMs: 0 } },
  { name: '5% loss, 0-40 ms jitter', net: { loss: 0.05, baseMs: 5, jitterMs: 40 } },
];

export async function run(args: string[]): Promise<void> {
  const seconds = Number(args.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 12);
  const dir = mkdtempSync(join(tmpdir(), 'voice-bench-'));
  const vite = await startVite();
  const browser = await launchChromium(beepWav(dir, 40, 500));
  try {
    for (const sc of SCENARIOS) {
      const page = await browser.newPage();
      await page.goto(`${vite.url}/src/lib/audio/harness/index.html`);
      await page.waitForFunction(() => 'voiceHarness' in window, null, { timeout: 15_000 });
      await page.evaluate((o) => window.voiceHarness.start(o), sc.net);
      await page.waitForFunction((n) => (window.voiceHarness.stats()?.sent ?? 0) >= n, seconds * 50, {
        timeout: (seconds + 20) * 1000,
        polling: 250,
      });
      // Counters first: tracks() encodes 40 s of audio on the page's main thread (130-260 ms), and
      // right after that stall the jitter buffer holds the frames that came in meanwhile.
      const s = await page.evaluate(() => window.voiceHarness.stats());
      const lat = await page.evaluate(() => window.voiceHarness.latencies());
      const t = await page.evaluate(() => window.voiceHarness.tracks());
      await page.evaluate(() => window.voiceHarness.stop());
      await page.close();
      const ins = beepOnsets(fromBase64(t.input.pcm), t.input.startFrame);
      const outs = beepOnsets(fromBase64(t.output.pcm), t.output.startFrame);
      const device = (lat.base + lat.output) * 1000;
      const d = onsetDelays(ins, outs).map((x) => x + device);
      console.log(`\n${sc.name}`);
      console.log(`  beeps captured ${ins.length}, played ${outs.length}, matched ${d.length}`);
      console.log(
        `  mouth-to-ear p50 ${percentile(d, 0.5).toFixed(1)} ms, p95 ${percentile(d, 0.95).toFixed(1)} ms` +
          ` (includes ${device.toFixed(1)} ms reported device output latency; goal p50 <= 150, aim 100)`,
      );
      console.log(
        `  frames sent ${s.sent}, received ${s.received}, lost ${s.lost} (${((100 * s.lost) / Math.max(1, s.sent)).toFixed(1)}%),` +
          ` concealed ${s.concealed}, late ${s.late}, underruns ${s.underruns}`,
      );
      console.log(
        `  jitter ${s.jitterMs.toFixed(1)} ms, jitter buffer delay ${s.bufferMs.toFixed(1)} ms (target ${s.targetMs.toFixed(1)} ms),` +
          ` session latency estimate ${s.latencyMs?.toFixed(1) ?? '-'} ms`,
      );
    }
  } finally {
    await browser.close();
    await vite.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
