// In real Chromium against a real bridge serving the built client (no other modules needed):
// - a contact link (#contact=…) asks first, showing the fingerprint; nothing is stored until the
//   person confirms; a second contact with the same name is told apart by its fingerprint (issue 14);
// - a page opened over plain http from a non-loopback name has no secure context and says why,
//   and what to do, instead of silently showing nobody online (issue 16).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, clientUrl, contactString, newDemoUser } from '../../relay/dev/demo.ts';
import { create } from '../../relay/bridge/index.ts';
import { parseConfigText } from '../../relay/config.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import type { RelayModule } from '../../relay/module.ts';
import { fingerprint } from '../../client/src/lib/contacts/contact-string.ts';
import { identityHex } from '../../shared/identity.ts';
import { getKeys } from '../keypool.ts';
import { logCapture } from '../log-capture.ts';
import { launch, SHOTS } from './call-helpers.ts';

const TOKEN = 'consent-token-0123456789abcdef';
let bridge: RelayModule;
let browser: Browser;
let port: number;
const [mine, bobA, bobB] = await Promise.all((await getKeys(3)).map(loadHostkey));

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voidphone-client-'));
  const [pem] = await getKeys(1);
  [, browser] = await Promise.all([
    buildClient(dir),
    // vp.test is this machine to Chromium, but by a name that is not localhost: no secure context.
    launch(['--host-resolver-rules=MAP vp.test 127.0.0.1']),
  ]);
  const ini = `hostkey = ${pem}\n[bridge]\nhttp_address = 127.0.0.1:0\ntoken = ${TOKEN}\nclient_dir = ${dir}\n`;
  bridge = await create({
    config: parseConfigText(join(dir, 'relay.ini'), ini),
    hostkey: mine!,
    log: logCapture().log,
  });
  port = Number(bridge.listening.http!.split(':')[1]);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await bridge?.stop();
});

/** Names of the contacts the page stored (its localStorage), in order. */
const stored = (page: Page) =>
  page.evaluate(() =>
    (JSON.parse(localStorage.getItem('voidphone.contacts.v1') ?? '[]') as { name: string }[]).map(
      (c) => c.name,
    ),
  );

describe('contacts from a link', () => {
  it('asks first, showing the fingerprint; stores only what the person confirms; tells equal names apart', async () => {
    const context = await browser.newContext({ viewport: { width: 420, height: 860 } });
    const page = await context.newPage();
    const idA = identityHex(bobA!.spkiDer);
    const idB = identityHex(bobB!.spkiDer);
    await page.goto(
      clientUrl(`127.0.0.1:${port}`, TOKEN, 'me', [contactString('bob', bobA!.spkiDer, newDemoUser())]),
    );
    const ask = page.getByRole('dialog', { name: 'Add bob as a contact?' });
    await ask.waitFor({ timeout: 10_000 });
    await expect(ask.textContent()).resolves.toContain(fingerprint(idA));
    await page.screenshot({ path: `${SHOTS}contact-consent.png` });
    expect(await stored(page)).toEqual([]);
    await expect(page.getByText('(0 online of 0)').isVisible()).resolves.toBe(true);
    await ask.getByRole('button', { name: 'Add bob as a contact' }).click();
    await ask.waitFor({ state: 'detached' });
    expect(await stored(page)).toEqual(['bob']);

    // Another link, another key under the same name: declined once (nothing stored), then taken.
    const other = clientUrl(`127.0.0.1:${port}`, TOKEN, 'me', [
      contactString('bob', bobB!.spkiDer, newDemoUser()),
    ]);
    const page2 = await context.newPage();
    await page2.goto(other);
    const ask2 = page2.getByRole('dialog', { name: 'Add bob as a contact?' });
    await ask2.waitFor({ timeout: 10_000 });
    await expect(ask2.textContent()).resolves.toContain('You already have a contact called bob');
    await ask2.getByRole('button', { name: 'Do not add bob' }).click();
    await ask2.waitFor({ state: 'detached' });
    expect(await stored(page2)).toEqual(['bob']);
    await page2.reload();
    await page2.getByRole('button', { name: 'Add bob as a contact' }).click({ timeout: 10_000 });
    await expect.poll(() => stored(page2)).toEqual(['bob', 'bob']);
    // Two "bob"s: each shown (and its buttons named) with its short fingerprint.
    for (const id of [idA, idB])
      await page2
        .getByRole('button', { name: `Call bob (${fingerprint(id).slice(0, 9)})` })
        .waitFor({ timeout: 5000 });
    await context.close();
  });
});

describe('a page without a secure context', () => {
  it('over plain http from a non-loopback name, explains why it cannot work and what to do', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://vp.test:${port}/#token=${TOKEN}`);
    expect(await page.evaluate(() => isSecureContext)).toBe(false);
    const alert = page.getByRole('alert').filter({ hasText: 'VoidPhone cannot work on this page' });
    await alert.waitFor({ timeout: 10_000 });
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('tls_cert');
    expect(text).toContain(`ssh -L ${port}:127.0.0.1:${port}`);
    expect(text).toMatch(/Missing: .*microphone/);
    await page.screenshot({ path: `${SHOTS}not-secure.png` });
    // The same client from 127.0.0.1 is a secure context: no such message.
    await page.goto(`http://127.0.0.1:${port}/#token=${TOKEN}`);
    await page.getByRole('heading', { name: 'VoidPhone', exact: true }).waitFor({ timeout: 10_000 });
    await expect(page.getByText('VoidPhone cannot work on this page').count()).resolves.toBe(0);
    await context.close();
  });
});
