// `npm run bench -- call --hosts 2 [--wan delay=40ms,loss=1%] [--calls N] [--round S] [--rounds R]
// [--build-timeout MS]`:
// a call across hosts on one machine (relay/dev/hosts.ts; root). Alice's relay and Chromium are on
// host 0, bob's on host 1, 3 relays per host, the WAN conditions between the hosts. Prints call
// set-up time (click -> callee rings, click -> connected) over N calls, then mouth-to-ear latency
// each way over one call of R rounds: beep onsets in the talker's capture against the listener's
// playback, both taps on the wall clock (one machine: one clock), plus the device output latency.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatWan, NO_WAN, parseWan } from '../../relay/dev/wan.ts';
import { type ClientPage, until, waitOnline } from '../e2e/call-helpers.ts';
import { crossHostDemo, launchIn, stats } from '../e2e/cross-host-helpers.ts';
import { openAudioClient, type PageGlobals } from '../e2e/link-rates.ts';
import {
  beepOnsets,
  beepWav,
  fromBase64,
  onsetDelays,
  percentile,
  SAMPLE_RATE,
} from '../e2e/voice-helpers.ts';

type Vp = PageGlobals['voidphone'];

/** Beep onsets (epoch ms) the page's microphone captured and its speaker played. */
async function onsets(c: ClientPage): Promise<{ spoke: number[]; heard: number[] }> {
  const r = await c.page.evaluate(() => {
    const voice = (globalThis as unknown as PageGlobals).voidphoneAudio.voice!;
    const t = voice.tap!.tracks();
    // No named helpers in here: tsx would wrap them in a __name() the page does not have.
    const [inPcm, outPcm] = [t.input.pcm, t.output.pcm].map((pcm) => {
      const i16 = new Int16Array(pcm.length);
      for (let i = 0; i < pcm.length; i++)
        i16[i] = Math.max(-32768, Math.min(32767, Math.round(pcm[i]! * 32767)));
      const bytes = new Uint8Array(i16.buffer);
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000)
        s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    });
    const ctx = voice.ctx!;
    return {
      input: { start: t.input.startFrame, pcm: inPcm! },
      output: { start: t.output.startFrame, pcm: outPcm! },
      zero: t.frameZeroMs,
      deviceMs: (ctx.baseLatency + (ctx.outputLatency || 0)) * 1000,
    };
  });
  const wall = (frames: number[], plus: number) =>
    frames.map((f) => r.zero + (f * 1000) / SAMPLE_RATE + plus);
  return {
    spoke: wall(beepOnsets(fromBase64(r.input.pcm), r.input.start), 0),
    heard: wall(beepOnsets(fromBase64(r.output.pcm), r.output.start), r.deviceMs),
  };
}

function mouthToEar(spoke: number[], heard: number[]): number[] {
  const f = (ms: number[]) => ms.map((x) => Math.round(x * (SAMPLE_RATE / 1000)));
  return onsetDelays(f(spoke), f(heard));
}

const line = (name: string, xs: number[]) =>
  `  ${name.padEnd(26)} p50 ${percentile(xs, 0.5).toFixed(0).padStart(6)} ms   p95 ${percentile(xs, 0.95).toFixed(0).padStart(6)} ms   (${xs.length})`;

const callOf = (c: ClientPage) =>
  c.page.evaluate(() => {
    const s = (globalThis as unknown as { voidphone: Vp }).voidphone.currentCall;
    return s && { state: s.state, endReason: s.endReason, endDetail: s.endDetail };
  });

async function dismiss(...pages: ClientPage[]): Promise<void> {
  for (const p of pages)
    await p.page.evaluate(() => (globalThis as unknown as { voidphone: Vp }).voidphone.dismissCall());
}

/** Alice calls bob (who accepts at once): 'connected', or 'failed' with the reason (logged). */
async function callOnce(alice: ClientPage, bob: ClientPage, roundS: number): Promise<boolean> {
  await alice.page.getByRole('button', { name: 'Call bob' }).click();
  await until(
    async () => ['connected', 'ended'].includes((await callOf(alice))?.state ?? ''),
    'connected or failed',
    2 * (roundS * 1000 + 30_000) + 10_000, // two builds, each answered within a round + 30 s
  );
  const c = await callOf(alice);
  if (c?.state === 'connected') return true;
  console.log(`  call failed: ${JSON.stringify(c)}`);
  await dismiss(alice, bob);
  return false;
}

/**
 * One call of `rounds` rounds for the mouth-to-ear figures: waits until bob received them, or the
 * call ended, or twice the talking time passed (a loaded machine). A call that ended before one
 * round of audio each way is retried, at most 3 calls. Whether one got that far.
 */
async function talk(alice: ClientPage, bob: ClientPage, roundS: number, rounds: number): Promise<boolean> {
  const target = rounds * roundS * 50;
  for (let attempt = 1; attempt <= 3; attempt++) {
    if (!(await callOnce(alice, bob, roundS))) continue;
    const end = Date.now() + 2 * rounds * roundS * 1000 + 30_000;
    while (Date.now() < end && (await callOf(alice))?.state === 'connected') {
      if (((await stats(bob))?.received ?? 0) >= target) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const [sa, sb] = [await stats(alice), await stats(bob)];
    const enough = Math.min(sa?.received ?? 0, sb?.received ?? 0) >= roundS * 50;
    const c = await callOf(alice);
    if (enough) {
      if (c?.state !== 'connected') console.log(`  call ended while talking: ${JSON.stringify(c)}`);
      return true;
    }
    console.log(`  call ${attempt} carried less than a round of audio each way: ${JSON.stringify(c)}`);
    if (c?.state === 'connected') await alice.page.getByRole('button', { name: 'Hang up' }).click();
    await dismiss(alice, bob);
  }
  return false;
}

async function setUp(alice: ClientPage, bob: ClientPage, calls: number, roundS: number): Promise<void> {
  const rang: number[] = [];
  const connected: number[] = [];
  let failed = 0;
  for (let i = 0; i < calls; i++) {
    // Users press Call at any moment of a round: sample the phase.
    await new Promise((r) => setTimeout(r, Math.random() * roundS * 1000));
    if (!(await callOnce(alice, bob, roundS))) {
      failed++;
      continue;
    }
    const t = await alice.page.evaluate(
      () => (globalThis as unknown as { voidphone: Vp }).voidphone.currentCall!.times,
    );
    const incoming = await bob.page.evaluate(
      () => (globalThis as unknown as { voidphone: Vp }).voidphone.currentCall!.times.incoming!,
    );
    rang.push(incoming - t.connecting!);
    connected.push(t.connected! - t.connecting!);
    console.log(`  call ${i + 1}/${calls}: callee rang ${rang.at(-1)} ms, connected ${connected.at(-1)} ms`);
    await alice.page.getByRole('button', { name: 'Hang up' }).click();
    await bob.page.getByText('They hung up.').waitFor({ timeout: 30_000 });
    for (const c of [alice, bob]) await c.page.getByRole('button', { name: 'OK' }).click();
  }
  console.log(`call set-up across hosts (aligned to rounds, round ${roundS} s), ${failed}/${calls} failed:`);
  console.log(line('click -> callee rings', rang));
  console.log(line('click -> connected', connected));
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      hosts: { type: 'string', default: '2' },
      wan: { type: 'string' },
      calls: { type: 'string', default: '5' },
      round: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '4' },
      'build-timeout': { type: 'string', default: '10000' },
    },
    strict: false,
  });
  const hosts = Math.max(2, Number(values.hosts));
  const roundS = Number(values.round);
  const wan = typeof values.wan === 'string' ? parseWan(values.wan) : NO_WAN;
  const dir = mkdtempSync(join(tmpdir(), 'cross-host-bench-'));
  const wav = beepWav(dir, 60, 500);
  const buildMs = Number(values['build-timeout']);
  // The relays' build and step timeouts (defaults 5 s and 2 s) are for relays with a core to spare:
  // at nice 15 beside a loaded machine one handshake can take seconds, a timed-out EXTEND counts
  // against the hop (path bias), and with 6 relays a few such hops leave no path at all.
  const set = {
    'onion.build_timeout_ms': String(buildMs),
    'onion.step_timeout_ms': String(Math.round(buildMs / 2.5)),
  };
  const demo = await crossHostDemo({ dir, hosts, perHost: 3, roundSeconds: roundS, wan, set });
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(
    `${hosts} hosts x 3 relays, WAN ${formatWan(wan)} (${demo.net.hosts.wanMode}), build timeout ${buildMs} ms, load ${load}`,
  );
  const browsers = [await launchIn(demo.net, 0, wav), await launchIn(demo.net, 1, wav)];
  try {
    const alice = await openAudioClient(browsers[0]!, demo.alice, true);
    const bob = await openAudioClient(browsers[1]!, demo.bob, true);
    await Promise.all([waitOnline(alice, 'bob', 120_000), waitOnline(bob, 'alice', 120_000)]);
    await bob.page.evaluate(() =>
      (globalThis as unknown as { voidphone: Vp }).voidphone.onCall((s) => {
        if (s.role === 'callee') s.accept();
      }),
    );
    await setUp(alice, bob, Number(values.calls), roundS);

    if (!(await talk(alice, bob, roundS, Number(values.rounds))))
      throw new Error('no call carried a round of audio each way in 3 attempts: no mouth-to-ear figures');
    const [sa, sb] = [await stats(alice), await stats(bob)];
    const [a, b] = [await onsets(alice), await onsets(bob)];
    console.log(
      `mouth-to-ear across hosts, one call of up to ${values.rounds} rounds (device output latency included; load ${loadavg()[0]!.toFixed(1)}):`,
    );
    console.log(line('alice (host 0) -> bob', mouthToEar(a.spoke, b.heard)));
    console.log(line('bob (host 1) -> alice', mouthToEar(b.spoke, a.heard)));
    for (const [name, s] of [
      ['alice', sa],
      ['bob', sb],
    ] as const) {
      if (!s) continue;
      const lostPct = (100 * s.lost) / Math.max(1, s.received + s.lost);
      console.log(
        `  ${name} hears: ${s.received} frames, ${s.lost} lost (${lostPct.toFixed(2)} %), ${s.concealed} concealed, longest gap ${s.longestGapMs} ms`,
      );
    }
  } finally {
    for (const br of browsers) await br.close().catch(() => {});
    await demo.net.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
