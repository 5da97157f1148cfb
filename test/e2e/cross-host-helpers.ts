// Shared by the cross-host call test and `npm run bench -- call --hosts N`: the demo network spread
// over hosts on one machine (relay/dev/testnet-hosts.ts), and a Chromium inside a host's namespace
// (playwright drives it over a pipe, which `ip netns exec` passes on), so each browser reaches its
// own relay's bridge on its host's 127.0.0.1 as on a real machine.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { buildClient, clientUrl, contactString, newDemoUser } from '../../relay/dev/demo.ts';
import { startHostsTestnet, type HostsTestnet } from '../../relay/dev/testnet-hosts.ts';
import type { WanConditions } from '../../relay/dev/wan.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import type { ClientPage } from './call-helpers.ts';
import type { PageGlobals } from './link-rates.ts';
import { CHROMIUM_ARGS, decimate, fromBase64 } from './voice-helpers.ts';

export interface CrossHostDemo {
  net: HostsTestnet;
  /** Alice's link: relay 0, on host 0. */
  alice: string;
  /** Bob's link: relay 1, on host 1. */
  bob: string;
}

/** `hosts` hosts of `perHost` relays each; alice on host 0, bob on host 1, each other's contacts. */
export async function crossHostDemo(o: {
  dir: string;
  hosts: number;
  perHost: number;
  roundSeconds: number;
  wan?: WanConditions;
  /** More config for every relay ({ 'onion.build_timeout_ms': '10000' }). */
  set?: Record<string, string>;
}): Promise<CrossHostDemo> {
  const clientDir = join(o.dir, 'client');
  await buildClient(clientDir);
  const tokens = Array.from({ length: o.hosts * o.perHost }, () => randomBytes(18).toString('base64url'));
  const net = await startHostsTestnet({
    hosts: o.hosts,
    relaysPerHost: o.perHost,
    wan: o.wan,
    set: { 'onion.round_seconds': String(o.roundSeconds), 'bridge.client_dir': clientDir, ...o.set },
    setFor: (i) => ({ 'bridge.token': tokens[i]! }),
    log: createLogger('testnet', process.env.VOIDPHONE_LOG ? undefined : 'warn'),
  });
  // One user per relay, its presence secrets in its own link and the public part in its friends'.
  const users = net.relays.map(newDemoUser);
  const card = async (relay: number, name: string) =>
    contactString(name, (await loadHostkey(net.relays[relay]!.hostkeyPath)).spkiDer, users[relay]!);
  const link = async (relay: number, name: string, friend: string, friendRelay: number) =>
    clientUrl(
      net.relays[relay]!.p2p.bridge!,
      tokens[relay]!,
      name,
      [await card(friendRelay, friend)],
      users[relay],
    );
  return { net, alice: await link(0, 'alice', 'bob', 1), bob: await link(1, 'bob', 'alice', 0) };
}

/** Chromium inside `host`'s namespace, with `wav` as its microphone. */
export function launchIn(net: HostsTestnet, host: number, wav: string): Promise<Browser> {
  return chromium.launch({
    executablePath: net.hosts.wrapper(host, '/usr/bin/chromium'),
    headless: true,
    args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${wav}`],
  });
}

export type Stats = import('../../client/src/lib/audio/stats.ts').CallStats;

export async function stats(c: ClientPage): Promise<Stats | null> {
  return c.page.evaluate(() => (globalThis as unknown as PageGlobals).voidphoneAudio.stats());
}

/** What the page's speaker played (the tap), decimated to 8 kHz for correlation. */
export async function played(c: ClientPage): Promise<Float64Array> {
  const b64 = await c.page.evaluate(() => {
    const t = (globalThis as unknown as PageGlobals).voidphoneAudio.voice!.tap!.tracks().output;
    const i16 = new Int16Array(t.pcm.length);
    for (let i = 0; i < t.pcm.length; i++)
      i16[i] = Math.max(-32768, Math.min(32767, Math.round(t.pcm[i]! * 32767)));
    const bytes = new Uint8Array(i16.buffer);
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  });
  return decimate(fromBase64(b64), 6);
}
