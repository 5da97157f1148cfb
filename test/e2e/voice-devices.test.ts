// A call heard the way a person hears it (issue 17): alice's and bob's Chromiums capture from and
// play to their own virtual devices on a private PulseAudio server (pulse-rig.ts), over a 6-relay
// testnet, with the client as the bridge serves it. A scripted conversation goes into the two
// microphones; one recording of all four devices shows that each side's speech comes out of the
// other side's speaker, also while both talk at once, and from the call's first second on.
// No timing thresholds: the figures are the benchmark's (`npm run bench -- call`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Demo } from '../../relay/dev/demo.ts';
import { onionInstances } from '../../relay/onion/debug.ts';
import { type ClientPage, demoNet, until, waitOnline } from './call-helpers.ts';
import { carried, conversation, figures, type Script, scriptOffsetS } from './conversation.ts';
import { openAudioClient } from './link-rates.ts';
import { type PulseRig, type Recording, startPulse } from './pulse-rig.ts';

const ROUND_S = 5;
let dir: string;
let rig: PulseRig;
let demo: Demo;
let browsers: Browser[] = [];
let alice: ClientPage;
let bob: ClientPage;
let script: Script;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voice-devices-'));
  script = conversation(dir, { turns: 1, double: true, leadS: 0 });
  rig = await startPulse();
  const [d, ba, bb] = await Promise.all([demoNet(ROUND_S), rig.launch('A'), rig.launch('B')]);
  demo = d;
  browsers = [ba, bb];
  alice = await openAudioClient(ba, demo.alice, true);
  bob = await openAudioClient(bb, demo.bob, false);
}, 180_000);

afterAll(async () => {
  for (const b of browsers) await b.close();
  await demo?.net.stop();
  await rig?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a call through real audio devices', () => {
  it('carries speech both ways, double talk both ways, and the first second', async () => {
    await Promise.all([
      waitOnline(alice, 'bob', 6 * ROUND_S * 1000),
      waitOnline(bob, 'alice', 6 * ROUND_S * 1000),
    ]);
    // As voice-call.test.ts: a call needs the onion ready (alice's relay has built its tunnels).
    const onion1 = onionInstances.get(demo.net.relays[1]!.p2p.onion!)!;
    await until(async () => onion1.coverReady(), "alice's relay has a cover tunnel", 6 * ROUND_S * 1000);
    await alice.page.getByRole('button', { name: 'Call bob' }).click();
    const ring = bob.page.getByRole('alertdialog', { name: 'alice is calling' });
    await ring.waitFor({ timeout: 6 * ROUND_S * 1000 }).catch((e) => {
      console.log(
        `alice's page:\n${alice.logs.slice(-15).join('\n')}\nbob's page:\n${bob.logs.slice(-15).join('\n')}`,
      );
      throw e;
    });
    await ring.getByRole('button', { name: 'Accept' }).click();
    // Alice talks the moment her page says the call is on, as a person would.
    await alice.page
      .getByRole('heading', { name: 'In call with bob' })
      .waitFor({ timeout: 4 * ROUND_S * 1000 + 10_000 });
    const rec: Recording = await (async () => {
      const r = rig.record();
      await rig.play(script.a, script.b).done;
      return r.stop();
    })();
    const fig = figures(script, rec);
    expect(fig, 'both directions carried speech').toBeDefined();
    const off = scriptOffsetS(script, rec);
    const a = script.turns[0]!;
    const firstSecond = carried(rec, 'A', off + a.fromS, off + a.fromS + 1);
    const dbl = script.double!;
    const ab = carried(rec, 'A', off + dbl.fromS, off + dbl.toS);
    const ba = carried(rec, 'B', off + dbl.fromS, off + dbl.toS);
    console.log(
      `alice->bob p50 ${fig!.ab.p50.toFixed(0)} ms, first words ${fig!.ab.firstMs.toFixed(0)} ms; ` +
        `bob->alice p50 ${fig!.ba.p50.toFixed(0)} ms; first second carried ${firstSecond.toFixed(0)}%; ` +
        `double talk heard ${fig!.ab.double?.pct.toFixed(0)}% / ${fig!.ba.double?.pct.toFixed(0)}%`,
    );
    // Speech each way: the listener's speaker plays the talker's words (correlated, not noise).
    expect(fig!.ab.lags.length).toBeGreaterThan(3);
    expect(fig!.ba.lags.length).toBeGreaterThan(3);
    // The first second of alice's words reaches bob's speaker.
    expect(firstSecond).toBeGreaterThan(50);
    // Both talking at once: each side still hears the other.
    expect(ab).toBeGreaterThan(50);
    expect(ba).toBeGreaterThan(50);
    // Carried, not judged: in quiet runs one direction kept only 27-39 % of its words while
    // both talked (72-92 % the other way). How much double talk survives is issue 17's figure (the
    // bench's goal is >= 99 % both ways); this test only shows that both directions get through.
    expect(fig!.ab.double!.pct).toBeGreaterThan(5);
    expect(fig!.ba.double!.pct).toBeGreaterThan(5);
  }, 240_000);
});
