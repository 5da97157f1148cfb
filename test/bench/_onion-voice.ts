// The voice figures of a real call over the onion (part of `npm run bench -- call`): alice and bob,
// each in their own Chromium with a beep-train microphone, on the 6-relay demo testnet. Prints:
// mouth-to-ear latency p50/p95 each way (beep onsets in the talker's capture against the listener's
// playback, both pages' tap clocks put on the wall clock, plus the listener's device output latency);
// the audio gaps (runs of concealed frames) and where they fall against the round switch-overs; loss
// and concealment; and alice's relay's link traffic idle (cover) against in the call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { onionInstances } from '../../relay/onion/debug.ts';
import { type ClientPage, demoNet, until, waitOnline } from '../e2e/call-helpers.ts';
import { linkSampler, openAudioClient, type PageGlobals, type Rate, roundsRate } from '../e2e/link-rates.ts';
import {
  beepOnsets,
  beepWav,
  fromBase64,
  launchChromium,
  onsetDelays,
  percentile,
  SAMPLE_RATE,
} from '../e2e/voice-helpers.ts';

type Stats = import('../../client/src/lib/audio/stats.ts').CallStats;

/** One page's recording: capture and playback tracks on the wall clock, and what its session saw. */
interface Side {
  /** Beep onsets (epoch ms) in what the microphone captured. */
  spoke: number[];
  /** Beep onsets (epoch ms) of what the speaker played, device output latency included. */
  heard: number[];
  gaps: { at: number; ms: number }[];
  stats: Stats;
}

/** Gaps and counters, read from both pages before either is stalled by reading its tracks. */
async function session(c: ClientPage): Promise<Pick<Side, 'gaps' | 'stats'>> {
  return c.page.evaluate(() => {
    const voice = (globalThis as unknown as PageGlobals).voidphoneAudio.voice!;
    return { gaps: voice.gaps(), stats: voice.stats() };
  });
}

/** Beep onsets on the wall clock. Copying the tracks out stalls the page (its sending too). */
async function onsets(c: ClientPage): Promise<Pick<Side, 'spoke' | 'heard'>> {
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

/** Delays (ms) from each beep `talker` spoke to the same beep `listener` heard. */
function mouthToEar(talker: Side, listener: Side): number[] {
  // onsetDelays works on sample frames: express both on one frame scale (ms * 48).
  const f = (ms: number[]) => ms.map((x) => Math.round(x * (SAMPLE_RATE / 1000)));
  return onsetDelays(f(talker.spoke), f(listener.heard));
}

function fmtRate(x: Rate): string {
  return `${x.cellsPerS.toFixed(1)} cells/s = ${(x.bytesPerS / 1000).toFixed(1)} kB/s (own circuits ${x.ownPerS.toFixed(1)} cells/s)`;
}

export async function run(args: string[]): Promise<void> {
  const roundS = Number(args.find((a) => a.startsWith('--round='))?.slice(8) ?? 5);
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 4);
  const dir = mkdtempSync(join(tmpdir(), 'onion-voice-bench-'));
  const wav = beepWav(dir, 40, 500);
  const [demo, ba, bb] = await Promise.all([demoNet(roundS), launchChromium(wav), launchChromium(wav)]);
  const browsers: Browser[] = [ba, bb];
  const sampler = linkSampler(demo, 1);
  try {
    // Bob sends no cover: alice's relay (relay 1) then carries alice's traffic and forwarding only.
    const alice = await openAudioClient(ba, demo.alice, true);
    const bob = await openAudioClient(bb, demo.bob, false);
    await Promise.all([
      waitOnline(alice, 'bob', 4 * roundS * 1000),
      waitOnline(bob, 'alice', 4 * roundS * 1000),
    ]);
    const onion1 = onionInstances.get(demo.net.relays[1]!.p2p.onion!)!;
    await until(async () => onion1.coverReady(), "alice's relay has a cover tunnel", 4 * roundS * 1000);
    // A fresh network's first rounds carry extra build traffic: measure from the round after next.
    await new Promise((r) => setTimeout(r, roundS * 1000));
    const idle = await roundsRate(sampler, roundS, rounds);

    await alice.page.getByRole('button', { name: 'Call bob' }).click();
    const ring = bob.page.getByRole('alertdialog', { name: 'alice is calling' });
    await ring.waitFor({ timeout: 3 * roundS * 1000 });
    await ring.getByRole('button', { name: 'Accept' }).click();
    const stats = (c: ClientPage) =>
      c.page.evaluate(() => (globalThis as unknown as PageGlobals).voidphoneAudio.stats());
    await until(
      async () => ((await stats(alice))?.received ?? 0) > 0 && ((await stats(bob))?.received ?? 0) > 0,
      'media both ways',
      15_000,
    );
    const switches0 = onion1.stats.switchovers;
    const talkFrom = Date.now();
    const inCall = await roundsRate(sampler, roundS, rounds);
    const talkTo = Date.now();
    const switches = onion1.stats.switchovers - switches0;
    const [sa, sb] = [await session(alice), await session(bob)];
    const [a, b]: Side[] = [
      { ...sa, ...(await onsets(alice)) },
      { ...sb, ...(await onsets(bob)) },
    ];

    console.log(
      `\nvoice over the onion: 6 relays, 2 hops, round ${roundS} s, ${((talkTo - talkFrom) / 1000).toFixed(0)} s of call, ${switches} switch-overs of alice's tunnel`,
    );
    for (const [name, talker, listener] of [
      ['alice -> bob', a, b],
      ['bob -> alice', b, a],
    ] as const) {
      const d = mouthToEar(talker, listener);
      console.log(
        `  mouth-to-ear ${name}: p50 ${percentile(d, 0.5).toFixed(1)} ms, p95 ${percentile(d, 0.95).toFixed(1)} ms over ${d.length} beeps (goal p50 <= 150, aim 100)`,
      );
    }
    const roundMs = roundS * 1000;
    for (const [name, s] of [
      ['alice', a],
      ['bob', b],
    ] as const) {
      const near = s.gaps.map((g) => {
        const start = g.at - g.ms;
        const boundary = Math.round(start / roundMs) * roundMs;
        return `${g.ms} ms at ${start - boundary >= 0 ? '+' : ''}${start - boundary} ms of a boundary`;
      });
      console.log(
        `  ${name} hears: frames ${s.stats.received} received, ${s.stats.lost} lost (${((100 * s.stats.lost) / Math.max(1, s.stats.received + s.stats.lost)).toFixed(2)}%), ${s.stats.concealed} concealed, ${s.stats.late} late; longest run of concealed frames ${s.stats.longestGapMs} ms; gaps >= 60 ms: ${near.length ? near.join(', ') : 'none'} (goal: none over 60 ms at a switch-over)`,
      );
    }
    const diff = Math.abs(inCall.cellsPerS - idle.cellsPerS) / idle.cellsPerS;
    const ownDiff = Math.abs(inCall.ownPerS - idle.ownPerS) / idle.ownPerS;
    console.log(`  alice's relay links over ${rounds} whole rounds each: idle ${fmtRate(idle)}`);
    console.log(`                                          in the call ${fmtRate(inCall)}`);
    console.log(
      `  idle vs call: differ by ${(100 * diff).toFixed(1)}% (own circuits ${(100 * ownDiff).toFixed(1)}%); goal within 5%`,
    );
  } finally {
    sampler.stop();
    for (const br of browsers) await br.close();
    await demo.net.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
