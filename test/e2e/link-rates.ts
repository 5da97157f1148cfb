// What a relay puts on its onion links, sampled through the whole of a test or benchmark, and the
// client page opened for audio: shared by the voice e2e test and the call benchmark.
import type { Browser } from 'playwright-core';
import type { Demo } from '../../relay/dev/demo.ts';
import { WIRE_CELL_SIZE } from '../../relay/onion/cell.ts';
import { onionInstances } from '../../relay/onion/debug.ts';
import { type ClientPage, openClient } from './call-helpers.ts';

/** What the client build puts on the page's globalThis (client/src/main.ts). */
export type PageGlobals = {
  voidphone: import('../../client/src/lib/api/voidphone.ts').VoidPhone;
  voidphoneAudio: import('../../client/src/lib/audio/call-audio.ts').CallAudio;
};

/**
 * The client as built and served by the bridge, under its CSP: its own CallAudio carries the
 * voice. Only the tap is turned on (to analyse what was played) and, where `cover` is false, ONION
 * COVER off (the call's filler and media still flow), so that another relay carries one client alone.
 */
export async function openAudioClient(browser: Browser, url: string, cover: boolean): Promise<ClientPage> {
  const c = await openClient(browser, url);
  await c.page.waitForFunction(() => !!(globalThis as unknown as PageGlobals).voidphoneAudio);
  await c.page.evaluate((cover) => {
    const audio = (globalThis as unknown as PageGlobals).voidphoneAudio;
    audio.voiceOptions = { ...audio.voiceOptions, tap: true, tapSeconds: 60 };
    audio.cover.coverOn = cover;
  }, cover);
  return c;
}

export type Rate = { cellsPerS: number; bytesPerS: number; ownPerS: number };

export type LinkSampler = ReturnType<typeof linkSampler>;

/**
 * Counts the cells on all of a relay's onion links (in + out) every 100 ms until stopped, so any
 * stretch (a phase of the call, whole rounds) can be read afterwards. Links opened or closed in
 * between would skew a plain diff: cells are summed per link id.
 */
export function linkSampler(demo: Demo, relay: number) {
  const onion = onionInstances.get(demo.net.relays[relay]!.p2p.onion!);
  if (!onion) throw new Error(`no onion debug handle for relay ${relay}`);
  const last = new Map<number, number>();
  const samples: { t: number; cells: number; forwarded: number }[] = [];
  let total = 0;
  const sample = () => {
    for (const l of onion.links()) {
      const n = l.stats.cellsIn + l.stats.cellsOut;
      total += n - (last.get(l.id) ?? 0);
      last.set(l.id, n);
    }
    samples.push({ t: Date.now(), cells: total, forwarded: onion.stats.cellsForwarded });
    if (samples.length > 10_000) samples.shift();
  };
  sample();
  const timer = setInterval(sample, 100);
  const at = (t: number) => samples.reduce((a, x) => (Math.abs(x.t - t) < Math.abs(a.t - t) ? x : a));
  return {
    stop: () => clearInterval(timer),
    /** Cells per second on the links between the samples nearest `from` and `to`. */
    rate(from: number, to: number): number {
      const [a, b] = [at(from), at(to)];
      return ((b.cells - a.cells) * 1000) / Math.max(1, b.t - a.t);
    },
    /**
     * The same without the cells the relay forwarded as a middle hop of other relays' circuits (each
     * one cell in and one out): what its own client's circuits put on the links, plus the few cells
     * of the handshakes it makes as a hop.
     */
    ownRate(from: number, to: number): number {
      const [a, b] = [at(from), at(to)];
      return ((b.cells - a.cells - 2 * (b.forwarded - a.forwarded)) * 1000) / Math.max(1, b.t - a.t);
    },
  };
}

/**
 * The sampled relay's cells/s over `rounds` whole rounds, starting 1 s after a round boundary: the
 * per-round tunnel builds every relay makes (some through this relay) fall the same way into every
 * such window.
 */
export async function roundsRate(sampler: LinkSampler, roundS: number, rounds: number): Promise<Rate> {
  const roundMs = roundS * 1000;
  const from = Math.ceil((Date.now() - 1000) / roundMs) * roundMs + 1000;
  const to = from + rounds * roundMs;
  await new Promise((r) => setTimeout(r, to - Date.now() + 150));
  const cellsPerS = sampler.rate(from, to);
  return { cellsPerS, bytesPerS: cellsPerS * WIRE_CELL_SIZE, ownPerS: sampler.ownRate(from, to) };
}
