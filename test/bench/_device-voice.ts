// Part 1 of `npm run bench -- call`: a call as a person hears it. Two Chromiums capture from and play
// to their own virtual devices (test/e2e/pulse-rig.ts); a scripted conversation goes into the
// microphones and one recording of all four devices is analysed (test/e2e/conversation.ts):
// mouth-to-ear p50/p95 each way, the first words, double talk, gaps, echo on speakers, loss and
// jitter. The same conversation through the browser's own WebRTC audio, page to page on the same
// devices, is the reference ("the rig alone"). Prints each figure of issue 17's table with its goal.
import { execFileSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { onionInstances } from '../../relay/onion/debug.ts';
import { demoNet, waitOnline } from '../e2e/call-helpers.ts';
import { conversation, type Direction, type Figures, figures, type Script } from '../e2e/conversation.ts';
import { echoPerSecond, heard, lags, pathGainDb } from '../e2e/hearing.ts';
import { openAudioClient, type PageGlobals } from '../e2e/link-rates.ts';
import { type PulseRig, type Recording, startPulse } from '../e2e/pulse-rig.ts';
import { forwarder } from '../e2e/voice-forwarder.ts';
import { percentile, startVite } from '../e2e/voice-helpers.ts';

type Stats = import('../../client/src/lib/audio/stats.ts').CallStats;

const load = () =>
  execFileSync('uptime', { encoding: 'utf8' })
    .trim()
    .replace(/.*load/, 'load');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');

/** Plays the script into both microphones while recording every device; returns the recording. */
async function converse(rig: PulseRig, script: Script): Promise<Recording> {
  const rec = rig.record();
  const play = rig.play(script.a, script.b);
  await play.done;
  const r = await rec.stop();
  if (process.env.VOIDPHONE_BENCH_DEBUG) {
    const rms = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / Math.max(1, x.length));
    console.log(
      `  recording ${(r.ch[0].length / 48000).toFixed(1)} s, channel RMS ${r.ch.map((c) => rms(c).toFixed(4)).join(' ')}`,
    );
  }
  return r;
}

interface Run {
  name: string;
  fig: Figures;
  extra?: string;
}

/** The reference: the browser's own WebRTC audio between two pages, same devices, same script. */
async function rigAlone(rig: PulseRig, script: Script, url: string, echo = false): Promise<Run | undefined> {
  const args = ['--allow-loopback-in-peer-connection'];
  const browsers: Browser[] = [];
  try {
    const pages: Page[] = [];
    for (const p of ['A', 'B'] as const) {
      const b = await rig.launch(p, args);
      browsers.push(b);
      const page = await b.newPage();
      await page.goto(`${url}/src/lib/audio/harness/rig.html`);
      await page.waitForFunction(() => 'voiceRig' in window, null, { timeout: 15_000 });
      await page.evaluate(() => (window as unknown as RigWindow).voiceRig.open());
      pages.push(page);
    }
    const [a, b] = pages as [Page, Page];
    // Loopback candidates only: the two pages talk over 127.0.0.1, nothing leaves the box.
    const lo = (sdp: string) =>
      sdp
        .split('\r\n')
        .filter((l) => !l.startsWith('a=candidate') || / 127\.0\.0\.1 /.test(l))
        .join('\r\n');
    const offer = lo(await a.evaluate(() => (window as unknown as RigWindow).voiceRig.offer()));
    const answer = lo(await b.evaluate((s) => (window as unknown as RigWindow).voiceRig.answer(s), offer));
    await a.evaluate((s) => (window as unknown as RigWindow).voiceRig.accept(s), answer);
    await a.waitForFunction(() => (window as unknown as RigWindow).voiceRig.connected(), null, {
      timeout: 15_000,
    });
    if (echo) rig.couple('B', -6, 20);
    const rec = await converse(rig, script);
    const fig = figures(script, rec);
    const jb = await b.evaluate(() => (window as unknown as RigWindow).voiceRig.jitterMs());
    const name = `rig alone (WebRTC page to page)${echo ? ', callee speaker coupled to mic' : ''}`;
    return fig && { name, fig, extra: `NetEq delay ${jb.toFixed(0)} ms` };
  } finally {
    for (const b of browsers) await b.close();
  }
}

type RigWindow = {
  voiceRig: {
    open(): Promise<void>;
    offer(): Promise<string>;
    answer(s: string): Promise<string>;
    accept(s: string): Promise<void>;
    connected(): boolean;
    jitterMs(): Promise<number>;
  };
};
type HarnessWindow = {
  voiceHarness: {
    start(o: object): Promise<void>;
    peer(
      url: string,
      jitter?: Record<string, number>,
      mic?: MediaTrackConstraints,
      capture?: 'worklet' | 'track',
      playout?: 'worklet' | 'neteq',
    ): Promise<void>;
    stats(): Stats;
    stop(): Promise<void>;
  };
};

/**
 * The product's audio path alone (no relays), A's microphone to A's speaker through the harness's
 * simulated network: the latency A/B test bed, and loss and jitter.
 */
async function harnessLoop(
  rig: PulseRig,
  url: string,
  net: { loss: number; baseMs: number; jitterMs: number },
  script: Script,
): Promise<{ p50: number; p95: number; pct: number; peak: number; stats: Stats } | undefined> {
  const b = await rig.launch('A');
  try {
    const page = await b.newPage();
    await page.goto(`${url}/src/lib/audio/harness/index.html`);
    await page.waitForFunction(() => 'voiceHarness' in window, null, { timeout: 15_000 });
    await page.evaluate((o) => (window as unknown as HarnessWindow).voiceHarness.start(o), net);
    const rec = await converse(rig, script);
    const stats = await page.evaluate(() => (window as unknown as HarnessWindow).voiceHarness.stats());
    await page.evaluate(() => (window as unknown as HarnessWindow).voiceHarness.stop());
    const ls = lags(rec.ch[0], rec.ch[2], { winMs: 400, stepMs: 200 });
    if (ls.length === 0) return undefined;
    const ms = ls.map((l) => l.ms);
    const p50 = percentile(ms, 0.5);
    const span = { fromS: 0, toS: rec.ch[0].length / 48000 };
    const h = heard(rec.ch[0], rec.ch[2], p50, pathGainDb(rec.ch[0], rec.ch[2], p50, span), span);
    return {
      p50,
      p95: percentile(ms, 0.95),
      pct: h.pct,
      peak: percentile(
        ls.map((l) => l.peak),
        0.5,
      ),
      stats,
    };
  } finally {
    await b.close();
  }
}

/** The product's audio path between two browsers on their devices, no relays (forwarder above). */
async function directCall(
  rig: PulseRig,
  script: Script,
  url: string,
  net: { loss: number; baseMs: number; jitterMs: number },
  echo: boolean,
  stretchMs = 0,
  mic?: {
    name: string;
    c?: MediaTrackConstraints;
    capture?: 'worklet' | 'track';
    playout?: 'worklet' | 'neteq';
  },
): Promise<Run | undefined> {
  const fwd = await forwarder(net);
  const browsers: Browser[] = [];
  try {
    const pages: Page[] = [];
    for (const p of ['A', 'B'] as const) {
      // NetEq's two peer connections talk over 127.0.0.1 inside the page.
      const b = await rig.launch(p, ['--allow-loopback-in-peer-connection']);
      browsers.push(b);
      const page = await b.newPage();
      await page.goto(`${url}/src/lib/audio/harness/index.html`);
      await page.waitForFunction(() => 'voiceHarness' in window, null, { timeout: 15_000 });
      await page.evaluate(
        ([u, st, c, cap, play]) =>
          (window as unknown as HarnessWindow).voiceHarness.peer(u, { stretchMs: st }, c, cap, play),
        [fwd.url, stretchMs, mic?.c, mic?.capture, mic?.playout] as const,
      );
      pages.push(page);
    }
    if (echo) rig.couple('B', -6, 20);
    const rec = await converse(rig, script);
    const st = await Promise.all(
      pages.map((p) => p.evaluate(() => (window as unknown as HarnessWindow).voiceHarness.stats())),
    );
    for (const p of pages) await p.evaluate(() => (window as unknown as HarnessWindow).voiceHarness.stop());
    const fig = figures(script, rec);
    const lossy = net.loss > 0 ? `, ${net.loss * 100}% loss, 0-${net.jitterMs} ms jitter` : '';
    const extra =
      `delay shown: A ${f1(st[0]!.latencyMs ?? Number.NaN)} ms, B ${f1(st[1]!.latencyMs ?? Number.NaN)} ms; ` +
      `jitter buffer ${f1(st[0]!.bufferMs)}/${f1(st[1]!.bufferMs)} ms; lost ${st[0]!.lost}/${st[1]!.lost}, concealed ${st[0]!.concealed}/${st[1]!.concealed}`;
    return (
      fig && {
        name: `VoidPhone audio path, page to page without relays${lossy}${echo ? ', callee speaker coupled to mic' : ''}${stretchMs ? ', delay glides (stretchMs 60)' : ''}${mic ? `, mic ${mic.name}` : ''}`,
        fig,
        extra,
      }
    );
  } finally {
    for (const b of browsers) await b.close();
    fwd.close();
  }
}

/** A VoidPhone call over the 6-relay demo net, each browser on its own devices. */
async function voidCall(
  rig: PulseRig,
  script: Script,
  roundS: number,
  echo: boolean,
): Promise<Run | undefined> {
  const demo = await demoNet(roundS);
  const browsers: Browser[] = [];
  // VOIDPHONE_BENCH_PLAYOUT=worklet|neteq: both pages play so (issue 17's echo A/B over the onion);
  // unset, the product's default (NetEq since the eighth session, the worklet where it cannot open).
  const playout = process.env.VOIDPHONE_BENCH_PLAYOUT;
  try {
    // NetEq's loopback pair on 127.0.0.1, not on this machine's other addresses.
    const flags = ['--allow-loopback-in-peer-connection'];
    const [ba, bb] = await Promise.all([rig.launch('A', flags), rig.launch('B', flags)]);
    browsers.push(ba, bb);
    const alice = await openAudioClient(ba, demo.alice, true);
    const bob = await openAudioClient(bb, demo.bob, false);
    for (const p of [alice.page, bob.page]) {
      p.on('console', (m) => /NetEq/i.test(m.text()) && console.log(`  page: ${m.text()}`));
      if (playout)
        await p.evaluate((pl) => {
          const g = globalThis as unknown as { voidphoneAudio: { voiceOptions: { playout?: string } } };
          g.voidphoneAudio.voiceOptions.playout = pl;
        }, playout);
    }
    await Promise.all([
      waitOnline(alice, 'bob', 4 * roundS * 1000),
      waitOnline(bob, 'alice', 4 * roundS * 1000),
    ]);
    // Undefined with the relays in processes (VOIDPHONE_DEMO_PROCESSES): then not counted.
    const onion1 = onionInstances.get(demo.net.relays[1]!.p2p.onion!);
    // What the relays' wire clocks (issue 15) add, summed over the demo net's relays, and how late
    // this process (which runs them) was: its timers are their slots.
    const onions = demo.net.relays
      .map((r) => onionInstances.get(r.p2p.onion!))
      .filter((o) => o !== undefined);
    const wire = () =>
      onions.reduce(
        (a, o) => [
          a[0]! + o.stats.wireCellsSent + o.stats.hopCellsSent,
          a[1]! + o.stats.wireWaitMs + o.stats.hopWaitMs,
        ],
        [0, 0],
      );
    const lag = monitorEventLoopDelay({ resolution: 5 });
    if (echo) rig.couple('B', -6, 20);
    await alice.page.getByRole('button', { name: 'Call bob' }).click();
    const ring = bob.page.getByRole('alertdialog', { name: 'alice is calling' });
    await ring.waitFor({ timeout: 3 * roundS * 1000 });
    await ring.getByRole('button', { name: 'Accept' }).click();
    // Alice starts talking the moment her page says the call is on, as a person would.
    await alice.page
      .getByRole('heading', { name: 'In call with bob' })
      .waitFor({ timeout: 4 * roundS * 1000 + 10_000 });
    const switches0 = onion1?.stats.switchovers ?? 0;
    // Bob's jitter buffer over the call's first seconds: how the delay settles.
    const trace: string[] = [];
    const t0 = Date.now();
    let tracing = true;
    // The delay each page shows, sampled while the conversation plays: after it the test feed
    // stops, the pages' microphones go quiet and the jitter buffers stall, so a figure read then
    // (as this bench did) grows with the stall and says nothing about the call.
    const shownDuring: [Stats[], Stats[]] = [[], []];
    const stats = (p: Page) =>
      p.evaluate(() => (globalThis as unknown as PageGlobals).voidphoneAudio.voice?.stats());
    const poll = (async () => {
      while (tracing) {
        const [sa, sb] = [await stats(alice.page), await stats(bob.page)];
        if (sa?.latencyMs !== undefined) shownDuring[0].push(sa);
        if (sb?.latencyMs !== undefined) shownDuring[1].push(sb);
        if (sb && Date.now() - t0 < 12_000)
          trace.push(
            `${((Date.now() - t0) / 1000).toFixed(1)}s:${sb.bufferMs.toFixed(0)}/${sb.targetMs.toFixed(0)}`,
          );
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const wire0 = wire();
    lag.enable();
    const rec = await converse(rig, script);
    lag.disable();
    const wire1 = wire();
    tracing = false;
    {
      const on = (p: Page) =>
        p.evaluate(() => {
          const g = globalThis as unknown as { voidphoneAudio: { voice?: { neteq?: unknown } | null } };
          return g.voidphoneAudio.voice?.neteq !== undefined;
        });
      console.log(`  NetEq playing: alice ${await on(alice.page)}, bob ${await on(bob.page)}`);
    }
    await poll;
    if (process.env.VOIDPHONE_BENCH_DEBUG)
      console.log(`  bob's jitter buffer delay/target (ms): ${trace.join(' ')}`);
    const switches = onion1 ? String(onion1.stats.switchovers - switches0) : '-';
    const s = async (p: Page) =>
      p.evaluate(() => {
        const v = (globalThis as unknown as PageGlobals).voidphoneAudio.voice!;
        return { stats: v.stats(), gaps: v.gaps() };
      });
    const [sa, sb] = [await s(alice.page), await s(bob.page)];
    const fig = figures(script, rec);
    // The median of what each page showed during the conversation, with its parts, to tell which
    // one is off when it differs from what is heard.
    const median = (xs: Stats[]): Stats | undefined =>
      [...xs].sort((x, y) => x.latencyMs! - y.latencyMs!)[Math.floor(xs.length / 2)];
    const parts = (x: Stats | undefined) =>
      x
        ? `${f1(x.latencyMs!)} ms (rtt ${f1(x.rttMs ?? Number.NaN)}, buffer ${f1(x.bufferMs)}, ring ${f1(x.ringMs ?? Number.NaN)}, output ${f1(x.outputMs ?? Number.NaN)})`
        : '-';
    const shown = `delay shown during the call (median): alice ${parts(median(shownDuring[0]))}, bob ${parts(median(shownDuring[1]))}`;
    const cells = wire1[0]! - wire0[0]!;
    const gaps =
      `concealed runs >= 60 ms: alice ${sa.gaps.length}, bob ${sb.gaps.length}; ${switches} switch-overs; ` +
      `relays' wire clocks ${cells} cells, mean wait ${cells ? ((wire1[1]! - wire0[1]!) / cells).toFixed(1) : '-'} ms; ` +
      `event-loop lag of the relays' process p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms`;
    return (
      fig && {
        name: `VoidPhone call${echo ? ', callee speaker coupled to mic' : ''}`,
        fig,
        extra: `${shown}; ${gaps}`,
      }
    );
  } finally {
    for (const b of browsers) await b.close();
    await demo.net.stop();
  }
}

function dir(d: Direction): string {
  return (
    `p50 ${f1(d.p50)} p95 ${f1(d.p95)} ms; first words ${f1(d.firstMs)} ms; alone heard ${d.single.pct.toFixed(1)}% ` +
    `(gaps ${d.single.gaps.length}, max ${Math.max(0, ...d.single.gaps)} ms)` +
    (d.double
      ? `; double talk heard ${d.double.pct.toFixed(1)}% (gaps ${d.double.gaps.length}, max ${Math.max(0, ...d.double.gaps)} ms)`
      : '')
  );
}

function print(r: Run): void {
  console.log(`\n${r.name}   [${load()}]`);
  console.log(`  A->B ${dir(r.fig.ab)}`);
  console.log(`  B->A ${dir(r.fig.ba)}`);
  const e = r.fig.echoA;
  if (e.length)
    console.log(
      `  caller's own voice back in her speaker: worst second ${f1(Math.min(...e))} dB down (${f1(r.fig.echoAtS[e.indexOf(Math.min(...e))] ?? Number.NaN)} s into the conversation; her seconds under 25 dB: ${
        r.fig.echoAtS
          .filter((_, i) => e[i]! < 25)
          .map(f1)
          .join(', ') || 'none'
      }), median ${f1(percentile(e, 0.5))} dB (goal: every second >= 25 dB down)`,
    );
  if (r.extra) console.log(`  ${r.extra}`);
}

export async function run(args: string[]): Promise<void> {
  const roundS = Number(args.find((a) => a.startsWith('--round='))?.slice(8) ?? 15);
  const only = args.find((a) => a.startsWith('--devices='))?.slice(10);
  const want = (x: string) => !only || only.split(',').includes(x);
  const tmp = mkdtempSync(join(tmpdir(), 'device-voice-'));
  const rig = await startPulse();
  const vite = await startVite();
  try {
    const script = conversation(tmp, { turns: 3, double: true });
    const runs: Run[] = [];
    if (want('rig')) {
      const r = await rigAlone(rig, script, vite.url);
      if (r) print(r);
      else console.log('rig alone: nothing carried');
      if (r) runs.push(r);
    }
    if (want('rigecho')) {
      // The reference for the echo run: is the callee's first turn lost for ~3 s with the browser's
      // own audio path too (the canceller starting, or the rig's loopback), or only with ours?
      const r = await rigAlone(rig, conversation(tmp, { turns: 3, double: false }), vite.url, true);
      if (r) print(r);
      else console.log('rig alone with echo: nothing carried');
    }
    if (want('harness')) {
      const solo = conversation(tmp, { turns: 2, double: false });
      for (const net of [
        { loss: 0, baseMs: 5, jitterMs: 0 },
        { loss: 0.05, baseMs: 5, jitterMs: 40 },
      ]) {
        const h = await harnessLoop(rig, vite.url, net, solo);
        if (!h) {
          console.log(`\nharness ${JSON.stringify(net)}: nothing carried`);
          continue;
        }
        console.log(
          `\nproduct audio path alone (harness, mic A -> speaker A, ${net.loss * 100}% loss, 0-${net.jitterMs} ms jitter)   [${load()}]`,
        );
        console.log(
          `  mouth-to-ear p50 ${f1(h.p50)} p95 ${f1(h.p95)} ms; heard ${h.pct.toFixed(1)}%; median correlation ${h.peak.toFixed(2)}; ` +
            `lost ${h.stats.lost} concealed ${h.stats.concealed} late ${h.stats.late}; jitter buffer ${f1(h.stats.bufferMs)} ms; delay shown ${f1(h.stats.latencyMs ?? Number.NaN)} ms`,
        );
      }
    }
    if (want('direct')) {
      const clean = { loss: 0, baseMs: 10, jitterMs: 0 };
      for (const [net, echo, sc] of [
        [clean, false, script],
        [{ loss: 0.05, baseMs: 10, jitterMs: 40 }, false, script],
        [clean, true, conversation(tmp, { turns: 3, double: false })],
      ] as const) {
        for (const stretch of echo ? [0, 60] : [0]) {
          const r = await directCall(rig, sc, vite.url, net, echo, stretch);
          if (r) print(r);
          else console.log(`direct ${JSON.stringify(net)}: a direction carried nothing`);
        }
      }
    }
    // The A/B parts run the short conversation (one turn each, then double talk): more runs per minute.
    const short = conversation(tmp, { turns: 1, double: true });
    if (want('dt')) {
      // Double talk A/B (issue 17): which of the microphone's processing swallows a talker's words
      // while the far end's voice plays. The product's constraints, then each one switched off.
      const base = { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 };
      const sel = args
        .find((a) => a.startsWith('--mics='))
        ?.slice(7)
        .split(',');
      for (const [name, c] of [
        ['product (EC, NS, AGC)', base],
        ['EC off', { ...base, echoCancellation: false }],
        ['NS off', { ...base, noiseSuppression: false }],
        ['AGC off', { ...base, autoGainControl: false }],
      ] as const) {
        if (sel && !sel.some((x) => name.startsWith(x))) continue;
        const r = await directCall(rig, short, vite.url, { loss: 0, baseMs: 10, jitterMs: 0 }, false, 0, {
          name,
          c,
        });
        if (r) print(r);
        else console.log(`direct, mic ${name}: a direction carried nothing`);
      }
    }
    if (want('capture')) {
      // Capture A/B (issue 17): the worklet against MediaStreamTrackProcessor, alternating, so
      // both see the same load; the relative difference is the figure.
      const reps = Number(args.find((a) => a.startsWith('--reps='))?.slice(7) ?? 2);
      const clean = { loss: 0, baseMs: 10, jitterMs: 0 };
      for (let i = 0; i < reps; i++)
        for (const capture of ['worklet', 'track'] as const) {
          const r = await directCall(rig, short, vite.url, clean, false, 0, {
            name: `capture ${capture}`,
            capture,
          });
          if (r) print(r);
          else console.log(`direct, capture ${capture}: a direction carried nothing`);
        }
    }
    if (want('neteq')) {
      // Playout A/B (issue 17): our jitter buffer and worklet against WebRTC's NetEq fed our frames
      // (played by an <audio> element, the path the browser's echo canceller knows), alternating,
      // with the short conversation's double talk, clean and with 5 % loss / 0-40 ms jitter.
      const reps = Number(args.find((a) => a.startsWith('--reps='))?.slice(7) ?? 2);
      for (const net of [
        { loss: 0, baseMs: 10, jitterMs: 0 },
        { loss: 0.05, baseMs: 10, jitterMs: 40 },
      ])
        for (let i = 0; i < reps; i++)
          for (const playout of ['worklet', 'neteq'] as const) {
            const r = await directCall(rig, short, vite.url, net, false, 0, {
              name: `playout ${playout}`,
              playout,
            });
            if (r) print(r);
            else console.log(`direct, playout ${playout}: a direction carried nothing`);
          }
    }
    if (want('echoplay')) {
      // Echo A/B (issue 17): the callee's speaker coupled into his microphone, our worklet's playout
      // against NetEq's <audio> element (the render path WebRTC's echo canceller is built around),
      // alternating. Over the onion the callee's first turn reached the caller only after ~3 s
      // (the canceller converging) while the rig alone never lost a word.
      const reps = Number(args.find((a) => a.startsWith('--reps='))?.slice(7) ?? 2);
      const solo = conversation(tmp, { turns: 3, double: false });
      for (let i = 0; i < reps; i++)
        for (const playout of ['worklet', 'neteq'] as const) {
          const r = await directCall(rig, solo, vite.url, { loss: 0, baseMs: 10, jitterMs: 0 }, true, 0, {
            name: `playout ${playout}`,
            playout,
          });
          if (r) print(r);
          else console.log(`direct with echo, playout ${playout}: a direction carried nothing`);
        }
    }
    if (want('call')) {
      const r = await voidCall(rig, script, roundS, false);
      if (r) print(r);
      else console.log('VoidPhone call: a direction carried nothing');
    }
    if (want('echo')) {
      const r = await voidCall(rig, conversation(tmp, { turns: 3, double: false }), roundS, true);
      if (r) print(r);
      else console.log('VoidPhone call with echo: a direction carried nothing');
    }
    void echoPerSecond;
  } finally {
    await vite.close();
    await rig.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
