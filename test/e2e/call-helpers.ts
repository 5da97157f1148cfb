// Shared by the call e2e tests and the call benchmark: a demo testnet with the client built into a
// private folder, Chromium pages on client links, and small waits on what the page shows.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildClient, type Demo, startDemo } from '../../relay/dev/demo.ts';

/**
 * Where the e2e tests save their screenshots: docs/screenshots when VOIDPHONE_SCREENSHOTS=1 (to
 * refresh the ones the docs show), else a temp folder, so a test run leaves the work tree clean.
 */
export const SHOTS = process.env.VOIDPHONE_SCREENSHOTS
  ? new URL('../../docs/screenshots/', import.meta.url).pathname
  : `${mkdtempSync(join(tmpdir(), 'voidphone-shots-'))}/`;

export async function demoNet(roundSeconds: number, set: Record<string, string> = {}): Promise<Demo> {
  const dir = mkdtempSync(join(tmpdir(), 'voidphone-client-'));
  await buildClient(dir);
  // ONION_OLD_BUILD=1: BUILDs answered at once (build_in_slot off), to compare with the default.
  // ONION_WIRE_CLOCK=client: the relays send the client's cells as they come (issue 15's A/B).
  // ONION_HOP_CLOCK=false: middle hops forward cells as they come (hop clocks' cost, issue 17's A/B).
  // The testnet picks free ports and then binds them: another test file (or engineer) can take one
  // in between. Retry on that race only.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDemo({
        roundSeconds,
        // VOIDPHONE_DEMO_PROCESSES=1: every relay in a process of its own (benches: relays on
        // separate machines share no event loop; one process delays every hop's timers together).
        mode: process.env.VOIDPHONE_DEMO_PROCESSES ? 'processes' : 'in-process',
        set: {
          'bridge.client_dir': dir,
          ...(process.env.ONION_OLD_BUILD ? { 'onion.build_in_slot': 'false' } : {}),
          ...(process.env.ONION_WIRE_CLOCK ? { 'onion.wire_clock': process.env.ONION_WIRE_CLOCK } : {}),
          ...(process.env.ONION_HOP_CLOCK ? { 'onion.hop_clock': process.env.ONION_HOP_CLOCK } : {}),
          ...set,
        },
      });
    } catch (e) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String((e as Error).message))) throw e;
    }
  }
}

export function launch(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      ...extraArgs,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // The client's voice starts with every connected call: a fake microphone (a beep) for it.
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      // The product plays through NetEq's loopback pair (neteq.ts): on 127.0.0.1 with this flag.
      '--allow-loopback-in-peer-connection',
    ],
  });
}

export interface ClientPage {
  page: Page;
  context: BrowserContext;
  logs: string[];
}

/**
 * Each client in its own context (own storage), phone-ish width so screenshots show the mobile layout.
 * The contacts in the link are only offered by the page (issue 14): this says yes to each, as the
 * person would after comparing fingerprints.
 */
export async function openClient(browser: Browser, url: string): Promise<ClientPage> {
  const context = await browser.newContext({ viewport: { width: 420, height: 860 } });
  const page = await context.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(url);
  const offered = new URLSearchParams(new URL(url).hash.slice(1)).getAll('contact').length;
  for (let i = 0; i < offered; i++)
    await page
      .getByRole('button', { name: /^Add .* as a contact$/ })
      .first()
      .click({ timeout: 30_000 }); // the click waits for the page's navigation: seconds on a loaded machine
  return { page, context, logs };
}

export async function waitOnline(c: ClientPage, friend: string, timeoutMs: number): Promise<void> {
  await c.page
    .getByRole('button', { name: `Call ${friend}` })
    .and(c.page.locator(':enabled'))
    .waitFor({ timeout: timeoutMs });
}

export async function waitOffline(c: ClientPage, friend: string, timeoutMs: number): Promise<void> {
  await c.page
    .locator('li', { hasText: friend })
    .filter({ hasText: 'offline' })
    .waitFor({ timeout: timeoutMs });
}

/** Start sending numbered test messages as media every `everyMs`, and collect what arrives. */
export async function startMessages(c: ClientPage, name: string, everyMs = 100): Promise<void> {
  await c.page.evaluate(
    ({ name, everyMs }) => {
      const g = globalThis as unknown as Record<string, unknown> & {
        voidphone: import('../../client/src/lib/api/voidphone.ts').VoidPhone;
      };
      const call = g.voidphone.currentCall!;
      const roundMs = g.voidphone.conn.hello!.roundSeconds * 1000;
      const rx: string[] = [];
      g.__rx = rx;
      // The voice's own payloads (80 bytes, version 1) flow alongside: keep only test messages.
      call.onMedia((p) => {
        if (p.length !== 80 || p[0] !== 1) rx.push(new TextDecoder().decode(p));
      });
      let i = 0;
      g.__tx = setInterval(() => {
        const round = Math.floor(g.voidphone.now() / roundMs);
        call.sendMedia(new TextEncoder().encode(`${name}|${round}|${i++}`));
      }, everyMs);
    },
    { name, everyMs },
  );
}

export async function received(c: ClientPage): Promise<string[]> {
  return c.page.evaluate(() => [...((globalThis as unknown as { __rx: string[] }).__rx ?? [])]);
}

export async function stopMessages(c: ClientPage): Promise<void> {
  await c.page.evaluate(() => clearInterval((globalThis as unknown as { __tx: number }).__tx));
}

/** Poll a condition (the page is async): every 100 ms up to timeoutMs. */
export async function until(fn: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
