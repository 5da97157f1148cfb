// The other endings, in real Chromium on a 6-relay testnet: bob declines; bob is busy in a call
// when carol calls; dave (not in bob's contacts) hears nothing (bob answers strangers with silence). Screenshots of each state go to docs/.
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Demo } from '../../relay/dev/demo.ts';
import { type ClientPage, demoNet, launch, openClient, SHOTS, until, waitOnline } from './call-helpers.ts';

const ROUND_S = 5;
const WAIT = 4 * ROUND_S * 1000;
let demo: Demo;
let browser: Browser;
let alice: ClientPage;
let bob: ClientPage;
let carol: ClientPage;
let dave: ClientPage;

beforeAll(async () => {
  // These are the client's call endings; the relay holding each BUILD for its round's build slot
  // (build_in_slot, up to a round per call: 40 -> 97 s here) is for onion-call-shape and the link
  // observer to test, and call-browser runs the default.
  [demo, browser] = await Promise.all([demoNet(ROUND_S, { 'onion.build_in_slot': 'false' }), launch()]);
  const bobLink = await demo.link(2, 'bob', [
    { relay: 1, name: 'alice' },
    { relay: 3, name: 'carol' },
  ]);
  const carolLink = await demo.link(3, 'carol', [{ relay: 2, name: 'bob' }]);
  const daveLink = await demo.link(4, 'dave', [{ relay: 2, name: 'bob' }]);
  [alice, bob, carol, dave] = await Promise.all(
    [demo.alice, bobLink, carolLink, daveLink].map((u) => openClient(browser, u)),
  );
  await Promise.all([
    waitOnline(alice, 'bob', WAIT),
    waitOnline(carol, 'bob', WAIT),
    waitOnline(dave, 'bob', WAIT),
    waitOnline(bob, 'alice', WAIT),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.net.stop();
});

async function ring(caller: ClientPage, callerName: string, callee: ClientPage, calleeName: string) {
  await caller.page.getByRole('button', { name: `Call ${calleeName}` }).click();
  const dialog = callee.page.getByRole('alertdialog', { name: `${callerName} is calling` });
  await dialog.waitFor({ timeout: WAIT });
  return dialog;
}

describe('call endings', () => {
  it('bob declines: alice is told', async () => {
    const dialog = await ring(alice, 'alice', bob, 'bob');
    await dialog.getByRole('button', { name: 'Decline' }).click();
    await alice.page.getByText('They declined the call.').waitFor({ timeout: 10_000 });
    await alice.page.screenshot({ path: `${SHOTS}07-declined.png` });
    await Promise.all([alice, bob].map((c) => c.page.getByRole('button', { name: 'OK' }).click()));
  });

  it('bob is in a call: carol gets busy, the call goes on', async () => {
    // Alice has blocked her microphone: the call still works, she hears bob, he hears silence.
    await alice.page.evaluate(() => {
      navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    const dialog = await ring(alice, 'alice', bob, 'bob');
    await dialog.getByRole('button', { name: 'Accept' }).click();
    await alice.page.getByRole('heading', { name: 'In call with bob' }).waitFor({ timeout: 10_000 });
    await alice.page.getByText('Microphone blocked').waitFor({ timeout: 10_000 });
    const heard = (c: ClientPage) =>
      c.page.evaluate(
        () =>
          (
            globalThis as unknown as { voidphoneAudio: { stats(): { received: number } | null } }
          ).voidphoneAudio.stats()?.received ?? 0,
      );
    await until(async () => (await heard(alice)) > 50 && (await heard(bob)) > 50, 'media both ways', 15_000);
    // Without a microphone the badge says the call is one-way, never "Good" (issue 17).
    await alice.page
      .getByRole('group', { name: 'Call quality' })
      .getByText('One-way', { exact: true })
      .waitFor({ timeout: 10_000 });
    await alice.page.screenshot({ path: `${SHOTS}13-no-microphone.png` });
    await carol.page.getByRole('button', { name: 'Call bob' }).click();
    await carol.page.getByText('They are in another call.').waitFor({ timeout: WAIT });
    await carol.page.screenshot({ path: `${SHOTS}08-busy.png` });
    await bob.page.getByRole('heading', { name: 'In call with alice' }).waitFor({ timeout: 1000 });
    await bob.page.getByRole('button', { name: 'Hang up' }).click();
    await alice.page.getByText('They hung up.').waitFor({ timeout: 10_000 });
  });

  it('dave is not in bob’s contacts: no answer (silence), no ringing', async () => {
    await dave.page.getByRole('button', { name: 'Call bob' }).click();
    await dave.page.getByText('have not added you as a contact').waitFor({ timeout: WAIT });
    await dave.page.screenshot({ path: `${SHOTS}09-refused.png` });
    const rang = await bob.page.getByRole('alertdialog').count();
    if (rang !== 0) throw new Error('bob rang for a stranger');
  });

  it('contacts: paste a contact string, see its fingerprint, rename, remove', async () => {
    const carolString = await carol.page.locator('#my-contact').inputValue();
    const carolPrint = (await carol.page.getByText('Your fingerprint:').locator('code').textContent())!;
    const p = dave.page;
    await p.getByRole('button', { name: 'OK' }).click();
    await p.getByLabel('Contact string your friend sent you').fill(carolString);
    await p.getByText(`Fingerprint: ${carolPrint}`).waitFor({ timeout: 2000 });
    await p.getByRole('button', { name: 'Add contact' }).click();
    await p.getByText(`Added carol. Check the fingerprint ${carolPrint}`).waitFor({ timeout: 2000 });
    await p.getByRole('button', { name: 'Rename carol' }).click();
    await p.getByLabel('New name for carol').fill('Carol C.');
    await p.getByRole('button', { name: 'Save' }).click();
    await p.getByRole('button', { name: 'Call Carol C.' }).waitFor({ timeout: 2000 });
    await p.screenshot({ path: `${SHOTS}10-contacts.png`, fullPage: true });
    p.once('dialog', (d) => void d.accept());
    await p.getByRole('button', { name: 'Remove Carol C.' }).click();
    await p.getByRole('button', { name: 'Call Carol C.' }).waitFor({ state: 'detached', timeout: 2000 });
    await p.getByLabel('Contact string your friend sent you').fill('voidphone:v1:garbage');
    await p.getByRole('button', { name: 'Add contact' }).click();
    await p.getByText('The contact key is damaged').waitFor({ timeout: 2000 });
  });
});
