// End to end in real Chromium against a 6-relay testnet: alice and bob on two relays see each other
// online, alice calls, bob's page rings and accepts, end-to-end encrypted test messages flow both
// ways across a round switch-over, alice hangs up, and bob sees alice go offline after she closes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Demo } from '../../relay/dev/demo.ts';
import {
  type ClientPage,
  demoNet,
  launch,
  openClient,
  received,
  SHOTS,
  startMessages,
  stopMessages,
  until,
  waitOffline,
  waitOnline,
} from './call-helpers.ts';

const ROUND_S = 5;
let demo: Demo;
let browser: Browser;
let alice: ClientPage;
let bob: ClientPage;

beforeAll(async () => {
  [demo, browser] = await Promise.all([demoNet(ROUND_S), launch()]);
  alice = await openClient(browser, demo.alice);
  bob = await openClient(browser, demo.bob);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.net.stop();
});

describe('a call between two browsers', () => {
  it('they see each other online', async () => {
    await Promise.all([
      waitOnline(alice, 'bob', 4 * ROUND_S * 1000),
      waitOnline(bob, 'alice', 4 * ROUND_S * 1000),
    ]);
    await alice.page.screenshot({ path: `${SHOTS}01-online.png` });
  });

  it('alice calls, bob rings and accepts', async () => {
    await alice.page.getByRole('button', { name: 'Call bob' }).click();
    await alice.page.getByRole('heading', { name: 'Calling bob…' }).waitFor({ timeout: 5000 });
    await alice.page.screenshot({ path: `${SHOTS}02-calling.png` });
    const ring = bob.page.getByRole('alertdialog', { name: 'alice is calling' });
    await ring.waitFor({ timeout: 4 * ROUND_S * 1000 });
    await bob.page.screenshot({ path: `${SHOTS}03-incoming.png` });
    await ring.getByRole('button', { name: 'Accept' }).click();
    await alice.page.getByRole('heading', { name: 'In call with bob' }).waitFor({ timeout: 10_000 });
    await bob.page.getByRole('heading', { name: 'In call with alice' }).waitFor({ timeout: 10_000 });
    // The voice starts with the call: wait for its first figures (the fake microphone beeps).
    const quality = bob.page.getByRole('group', { name: 'Call quality' });
    await quality
      .getByText(/^(Good|Fair|Poor)$/)
      .first()
      .waitFor({ timeout: 15_000 });
    await bob.page.screenshot({ path: `${SHOTS}04-in-call.png` });
  });

  it('test messages flow both ways, end to end encrypted, across a round switch-over', async () => {
    await Promise.all([startMessages(alice, 'alice'), startMessages(bob, 'bob')]);
    const rounds = async (c: ClientPage, from: string) => {
      const got = (await received(c)).filter((m) => m.startsWith(`${from}|`));
      return new Set(got.map((m) => m.split('|')[1]));
    };
    // Three distinct sending rounds seen on each side = at least two switch-overs survived.
    await until(
      async () => (await rounds(alice, 'bob')).size >= 3 && (await rounds(bob, 'alice')).size >= 3,
      'messages from three rounds on both sides',
      5 * ROUND_S * 1000,
    );
    await Promise.all([stopMessages(alice), stopMessages(bob)]);
    const a = await received(alice);
    expect(a.every((m) => /^bob\|\d+\|\d+$/.test(m))).toBe(true);
    expect((await received(bob)).every((m) => /^alice\|\d+\|\d+$/.test(m))).toBe(true);
    // Both still in the call after the switch-overs.
    await expect(alice.page.getByRole('heading', { name: 'In call with bob' }).isVisible()).resolves.toBe(
      true,
    );
  });

  it('alice hangs up; bob sees it', async () => {
    await alice.page.getByRole('button', { name: 'Hang up' }).click();
    await bob.page.getByText('They hung up.').waitFor({ timeout: 10_000 });
    await alice.page.getByText('You hung up.').waitFor({ timeout: 2000 });
    await bob.page.screenshot({ path: `${SHOTS}05-hung-up.png` });
  });

  it("alice's presence disappears after she closes the client", async () => {
    await alice.context.close();
    await waitOffline(bob, 'alice', 4 * ROUND_S * 1000);
    await bob.page.screenshot({ path: `${SHOTS}06-friend-offline.png` });
    expect(bob.logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });
});
