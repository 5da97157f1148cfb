// The NetEq experiment (issue 17) in real Chromium: the product's capture and Opus encoder, a
// simulated network (5 % loss, 0-40 ms jitter), then WebRTC's NetEq fed through an encoded transform
// (client/src/lib/audio/neteq.ts, page harness/neteq.html). It must play back the microphone's
// speech, so NetEq really gets our frames (not the loopback sender's silence), and lost frames must
// reach it as gaps. The comparison with our own jitter buffer is the benchmark's
// (`npm run bench -- call --parts=neteq`); no timing thresholds here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchForNetEq, runPath } from './neteq-runner.ts';
import { speechWav, startVite } from './voice-helpers.ts';

let dir: string;
let wav: string;
let vite: Awaited<ReturnType<typeof startVite>>;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'neteq-'));
  wav = speechWav(dir, 'Hello, this is a void phone test call. One, two, three, four, five.');
  vite = await startVite();
  browser = await launchForNetEq(wav);
});

afterAll(async () => {
  await browser?.close();
  await vite?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('NetEq experiment: our frames through WebRTC receive', () => {
  it('plays the speech through 5 % loss and 0-40 ms jitter', { timeout: 90_000 }, async () => {
    const r = await runPath(browser, vite.url, wav, 'voiceNetEq', { loss: 0.05, jitterMs: 40 }, 6);
    console.log(`neteq: ${JSON.stringify(r)}`);
    expect(r.heard.peak).toBeGreaterThan(0.3);
    expect(r.heard.ratio).toBeGreaterThan(5);
    expect(r.stats.sent).toBeGreaterThan(200);
    expect(r.stats.lost).toBeGreaterThan(0);
  });
});
