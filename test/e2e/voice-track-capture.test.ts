// Capture straight from the microphone track (VoiceSession capture 'track', issue 17): two harness
// pages on Chromium's fake microphone, their payloads forwarded by Node (voice-forwarder.ts), each
// capturing through MediaStreamTrackProcessor. Shows the capture is the track's (no silent fallback
// to the worklet) and that frames flow both ways. No timing thresholds.
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwarder } from './voice-forwarder.ts';
import { startVite } from './voice-helpers.ts';

type H = {
  voiceHarness: {
    peer(u: string, j: object, mic: undefined, capture: 'track'): Promise<void>;
    stats(): { sent: number; received: number };
    captureFrom(): string | undefined;
    stop(): Promise<void>;
  };
};

let browser: Browser;
let vite: Awaited<ReturnType<typeof startVite>>;
let fwd: Awaited<ReturnType<typeof forwarder>>;
const pages: Page[] = [];

beforeAll(async () => {
  vite = await startVite();
  fwd = await forwarder({ loss: 0, baseMs: 5, jitterMs: 0 });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
  for (let i = 0; i < 2; i++) {
    const p = await browser.newPage();
    await p.goto(`${vite.url}/src/lib/audio/harness/index.html`);
    await p.waitForFunction(() => 'voiceHarness' in window, null, { timeout: 30_000 });
    await p.evaluate((u) => (window as unknown as H).voiceHarness.peer(u, {}, undefined, 'track'), fwd.url);
    pages.push(p);
  }
}, 90_000);

afterAll(async () => {
  for (const p of pages) await p.evaluate(() => (window as unknown as H).voiceHarness.stop()).catch(() => {});
  await browser?.close();
  fwd?.close();
  await vite?.close();
});

describe('capture from the track (MediaStreamTrackProcessor)', () => {
  it('captures through the track and carries frames both ways', async () => {
    for (const p of pages) {
      expect(await p.evaluate(() => (window as unknown as H).voiceHarness.captureFrom())).toBe('track');
      // 100 frames = 2 s of captured, encoded and received audio.
      await p.waitForFunction(
        () => {
          const s = (window as unknown as H).voiceHarness.stats();
          return s.sent > 100 && s.received > 100;
        },
        null,
        { timeout: 30_000 },
      );
    }
  }, 60_000);
});
