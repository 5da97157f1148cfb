// `npm run bench -- call --parts=neteq [--runs=N]`: our jitter buffer and worklet against WebRTC's
// NetEq fed our frames (client/src/lib/audio/neteq.ts), page to page without relays, same capture,
// same encoder, same simulated network (test/e2e/neteq-runner.ts). Prints per path and network:
// how well the playout matches the microphone's speech (waveform correlation, 1 = identical), the
// delay from capture to playout on the page's clock, and how much was concealed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchForNetEq, type NetOptions, type Path, runPath } from '../e2e/neteq-runner.ts';
import { percentile, speechWav, startVite } from '../e2e/voice-helpers.ts';

const NETS: [string, NetOptions][] = [
  ['clean', { loss: 0, jitterMs: 0 }],
  ['5 % loss, 0-40 ms jitter', { loss: 0.05, jitterMs: 40 }],
];

function concealedPct(which: Path, s: Record<string, number>): number {
  if (which === 'voiceNetEq') return (100 * (s.concealedSamples ?? 0)) / Math.max(1, s.totalSamples ?? 0);
  return (100 * (s.concealed ?? 0)) / Math.max(1, s.received ?? 0);
}

export async function run(args: string[]): Promise<void> {
  const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'neteq-bench-'));
  const wav = speechWav(dir, 'Hello, this is a void phone test call. One, two, three, four, five.');
  const vite = await startVite();
  const browser = await launchForNetEq(wav);
  try {
    console.log(`\nNetEq vs our playout, page to page, ${runs} runs of 6 s each (median [min-max])`);
    for (const [name, net] of NETS) {
      for (const which of ['voiceHarness', 'voiceNetEq'] as Path[]) {
        const rows: { peak: number; delay: number; conc: number }[] = [];
        for (let i = 0; i < runs; i++) {
          const r = await runPath(browser, vite.url, wav, which, net, 6);
          rows.push({ peak: r.heard.peak, delay: r.delayMs, conc: concealedPct(which, r.stats) });
        }
        const f = (k: 'peak' | 'delay' | 'conc', d: number) => {
          const xs = rows.map((r) => r[k]);
          return `${percentile(xs, 50).toFixed(d)} [${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)}]`;
        };
        const label = which === 'voiceNetEq' ? 'NetEq' : 'ours ';
        console.log(
          `  ${name.padEnd(26)} ${label}  speech match ${f('peak', 2)}  delay ${f('delay', 0)} ms  concealed ${f('conc', 1)} %`,
        );
      }
    }
  } finally {
    await browser.close();
    await vite.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
