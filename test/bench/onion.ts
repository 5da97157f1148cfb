// npm run bench -- onion: tunnel build time, added round trip per hop at 1/100/500 tunnels (50 cells/s
// each way each), forwarding rate per core, relay RSS (separate processes), and link bytes of a call
// and of cover. Hops are drawn from a fake RPS API server. Flags: --quick.
// Reference: Tor 0.4.9 private network on this kind of machine (see docs/onion-protocol.md).
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createServer, connect } from 'node:net';
import { ApiClient } from '../../relay/api/client.ts';
import { createLogger } from '../../relay/log.ts';
import { randomBytes } from 'node:crypto';
import { CELL_SIZE, WIRE_CELL_SIZE } from '../../relay/onion/cell.ts';
import { openCell, sealCell } from '../../relay/onion/crypto.ts';
import { HopLayer, hopForward, originWrap } from '../../relay/onion/layers.ts';
import { startTestnet } from '../../relay/testnet.ts';
import { type ApiMessage, MessageType } from '../../shared/wire/types.ts';
import type { OnionStats } from '../../relay/onion/stats.ts';
import {
  type OnionNet,
  rpsPeerOf,
  startFakeRps,
  startOnionNet,
  waitFor,
} from '../integration/onion-support.ts';

const TOR = { buildP50: 21, buildP95: 27, rttP50: 2.9, rttP95: 7.2, rssMb: 47 };
const RELAYS = 8;

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};
const f = (x: number, d = 2) => x.toFixed(d);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidOf(config: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(config)) return Number(d);
    } catch {}
  }
  return undefined;
}
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** RTT of a plain TCP echo on loopback: what the tunnel's round trip is compared against. */
async function directRtt(n: number): Promise<number> {
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const sock = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  sock.setNoDelay(true);
  await new Promise((r) => sock.once('connect', r));
  const rtts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await new Promise<void>((r) => {
      sock.once('data', () => r());
      sock.write(Buffer.alloc(100));
    });
    rtts.push(performance.now() - t);
  }
  sock.destroy();
  server.close();
  return q(rtts, 50);
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  // Figures depend on what else runs: print the load so a reader can judge them.
  console.log(
    `load average ${loadavg()
      .map((l) => f(l))
      .join(' ')} on ${cpus().length} cores`,
  );
  forwardingCore(quick ? 20_000 : 100_000);
  await timing(quick, args.includes('--processes'));
  await memory(quick ? 100 : 500);
  await linkBytes();
}

/**
 * Build time and added round trip. By default all relays run in this one process (one core for every
 * relay and the API clients: pessimistic, but immune to the scheduler starving 9 processes on a busy
 * box); --processes runs each relay as its own process.
 */
async function timing(quick: boolean, processes: boolean): Promise<void> {
  const on = await startOnionNet(
    RELAYS,
    {
      'onion.cover_tunnel': 'false',
      'onion.max_tunnels_per_connection': '1000',
      'onion.build_timeout_ms': '10000',
    },
    undefined,
    processes ? 'processes' : 'in-process',
  );
  console.log(`relays: ${RELAYS} ${processes ? 'processes' : 'in this process'}`);
  try {
    const D = RELAYS - 1;
    const a = await on.client(0);
    const d = await on.client(D);
    const build = on.buildTo(D);
    d.onMessage((m) => {
      if (m.type === MessageType.ONION_TUNNEL_DATA) d.send(m); // the destination echoes
    });
    const builds: number[] = [];
    for (let i = 0; i < (quick ? 30 : 200); i++) {
      const t = performance.now();
      const r = await a.request(build, MessageType.ONION_TUNNEL_READY, 20_000);
      builds.push(performance.now() - t);
      a.send({ type: 563, tunnelId: r.tunnelId });
    }
    const b50 = q(builds, 50);
    const b95 = q(builds, 95);
    console.log(
      `build (2 hops + destination, BUILD -> READY): p50 ${f(b50)} ms, p95 ${f(b95)} ms` +
        `  (target p50 <= 15; vs Tor 3-hop ${TOR.buildP50}/${TOR.buildP95} ms: x${f(b50 / TOR.buildP50)} / x${f(b95 / TOR.buildP95)})`,
    );
    const base = await directRtt(200);
    console.log(`direct loopback TCP echo RTT p50: ${f(base, 3)} ms (subtracted below)`);
    // READY carries no request id, so each connection builds one tunnel at a time; 20 connections in parallel.
    const conns = [a, ...(await Promise.all(Array.from({ length: 19 }, () => on.client(0))))];
    const tunnels: Tunnel[] = [];
    for (const n of quick ? [1, 100] : [1, 100, 500]) {
      tunnels.push(...(await buildMany(conns, build, n - tunnels.length, tunnels.length)));
      const fwd0 = processes ? 0 : sumStat(on, 'cellsForwarded');
      const cpu0 = process.cpuUsage();
      const { rtts, sent, got } = await echoLoad(tunnels, quick ? 3000 : 6000);
      const cpu = process.cpuUsage(cpu0);
      const added = rtts.map((r) => r - base);
      console.log(
        `${n} tunnel(s) at 50 cells/s each way: added RTT p50 ${f(q(added, 50))} ms, p99 ${f(q(added, 99))} ms;` +
          ` per hop p50 ${f(q(added, 50) / 3)} / p99 ${f(q(added, 99) / 3)} ms; delivered ${got}/${sent}` +
          `  (targets p50 <= 2.5 at 1, p99 <= 5 at 500; vs Tor p50 ${TOR.rttP50}: x${f(q(added, 50) / TOR.rttP50)})`,
      );
      const dead = [...conns, d].filter((c) => c.closed);
      if (dead.length)
        console.log(`  overloaded: ${dead.length} API connection(s) closed (${dead[0]!.closeReason})`);
      const fwd = processes ? 0 : sumStat(on, 'cellsForwarded') - fwd0;
      const cpuS = (cpu.user + cpu.system) / 1e6;
      if (n >= 100 && !processes) {
        console.log(
          `  forwarding: ${fwd} cells by hops in ${f(cpuS)} CPU s of the whole process (all ${RELAYS} relays and clients):` +
            ` >= ${f(fwd / cpuS, 0)} cells/s per core (a lower bound for one relay)`,
        );
      }
    }
  } finally {
    await on.stop();
  }
}

/**
 * One hop's per-cell work on one core, without the kernel: open the link AEAD, remove the hop's layer
 * (not recognized: forward), seal for the next link. Real forwarding adds socket reads and writes.
 */
function forwardingCore(n: number): void {
  const seeds = [randomBytes(32), randomBytes(32)];
  const origin = seeds.map((k) => new HopLayer(k));
  const hop = new HopLayer(seeds[0]!);
  const inKey = randomBytes(32);
  const outKey = randomBytes(32);
  const wire: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const c = new Uint8Array(CELL_SIZE);
    originWrap(origin, 1, c);
    const w = Buffer.alloc(WIRE_CELL_SIZE);
    sealCell(inKey, i, c, w, 0);
    wire.push(w);
  }
  const out = Buffer.alloc(WIRE_CELL_SIZE);
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const c = openCell(inKey, i, wire[i]!)!;
    hopForward(hop, c);
    sealCell(outKey, i, c, out, 0);
  }
  const s = (performance.now() - t) / 1000;
  console.log(`hop forwarding on one core (crypto + framing, no syscalls): ${f(n / s, 0)} cells/s`);
}

function sumStat(on: OnionNet, k: keyof OnionStats): number {
  let s = 0;
  for (let i = 0; i < RELAYS; i++) s += on.debug(i).stats[k];
  return s;
}

/** RSS of real relay processes, idle and holding n tunnels (initiator, hops, destination). */
async function memory(n: number): Promise<void> {
  const rps = await startFakeRps();
  const net = await startTestnet({
    relays: 4,
    mode: 'processes',
    only: ['onion'],
    set: {
      'rps.api_address': rps.server.address,
      'onion.round_seconds': '3600',
      'onion.cover_tunnel': 'false',
      'onion.max_tunnels_per_connection': '1000',
      'onion.build_timeout_ms': '20000',
    },
    log: createLogger('bench', 'warn'),
  });
  try {
    for (const r of net.relays) rps.peers.push(rpsPeerOf(r.hostkeyPath, r.p2p.onion!));
    rps.release();
    const pids = net.relays.map((r) => pidOf(r.config)!);
    const idle = pids.map(rssMb);
    console.log(
      `relay RSS idle (separate processes): ${idle.map((m) => f(m, 1)).join(', ')} MB (target <= 80; Tor ~${TOR.rssMb} MB)`,
    );
    const a = await ApiClient.connect(net.relays[0]!.api.onion!, { timeoutMs: 30_000 });
    const d = await ApiClient.connect(net.relays[3]!.api.onion!, { timeoutMs: 30_000 });
    const p = rps.peers[3]!;
    const build = { type: 560 as const, address: p.address, port: p.port, hostkey: p.hostkey };
    const more = await Promise.all(
      Array.from({ length: 19 }, () => ApiClient.connect(net.relays[0]!.api.onion!)),
    );
    const conns = [a, ...more];
    await buildMany(conns, build, n, 0);
    const held = pids.map(rssMb);
    console.log(
      `relay RSS with ${n} tunnels: initiator ${f(held[0]!, 1)}, hops ${f(held[1]!, 1)} / ${f(held[2]!, 1)}, destination ${f(held[3]!, 1)} MB`,
    );
    for (const c of conns) c.close();
    d.close();
  } finally {
    await net.stop();
    await rps.close();
  }
}

interface Tunnel {
  conn: ApiClient;
  id: number;
}

/** n more tunnels, spread over the connections (each builds one at a time). */
async function buildMany(
  conns: ApiClient[],
  build: ApiMessage,
  n: number,
  offset: number,
): Promise<Tunnel[]> {
  const out: Tunnel[] = [];
  await Promise.all(
    conns.map(async (conn, k) => {
      for (let i = (k - (offset % conns.length) + conns.length) % conns.length; i < n; i += conns.length) {
        const r = await conn.request(build, MessageType.ONION_TUNNEL_READY, 60_000);
        out.push({ conn, id: r.tunnelId });
      }
    }),
  );
  return out;
}

/** Every tunnel sends a 100-byte frame every 20 ms (staggered); the destination echoes it. */
async function echoLoad(tunnels: Tunnel[], ms: number) {
  const sentAt = new Map<string, number>();
  const rtts: number[] = [];
  let sent = 0;
  let got = 0;
  const onMsg = (m: ApiMessage) => {
    if (m.type !== MessageType.ONION_TUNNEL_DATA || m.data.length < 8) return;
    const key = `${m.tunnelId}:${new DataView(m.data.buffer, m.data.byteOffset).getUint32(0)}`;
    const t = sentAt.get(key);
    if (t === undefined) return;
    sentAt.delete(key);
    rtts.push(performance.now() - t);
    got++;
  };
  const offs = [...new Set(tunnels.map((t) => t.conn))].map((c) => c.onMessage(onMsg));
  const start = performance.now();
  const end = start + ms;
  // 20 ms per frame per tunnel, tunnels spread over 4 slots of 5 ms; frames due are sent when due.
  let frame = 0;
  while (performance.now() < end) {
    const due = Math.floor((performance.now() - start) / 5);
    for (; frame <= due; frame++) {
      for (let i = frame % 4; i < tunnels.length; i += 4) {
        const t = tunnels[i]!;
        const data = new Uint8Array(100);
        new DataView(data.buffer).setUint32(0, frame);
        sentAt.set(`${t.id}:${frame}`, performance.now());
        t.conn.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: t.id, data });
        sent++;
      }
    }
    await sleep(2);
  }
  await sleep(500);
  for (const off of offs) off();
  return { rtts, sent, got };
}

/** Link bytes of one call (50 frames/s each way) and of one idle peer's cover, from link counters. */
async function linkBytes(): Promise<void> {
  const on = await startOnionNet(5, { 'onion.cover_tunnel': 'true' });
  try {
    const a = await on.client(0);
    const d = await on.client(4);
    const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
    const ready = await a.request(on.buildTo(4), MessageType.ONION_TUNNEL_READY, 10_000);
    const inId = (await inc).tunnelId;
    const cellsOut = (i: number) =>
      on
        .debug(i)
        .links()
        .reduce((s, l) => s + l.stats.cellsOut, 0);
    const c0 = cellsOut(0);
    const secs = 2;
    for (let t = 0; t < secs * 50; t++) {
      a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: new Uint8Array(100) });
      d.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: inId, data: new Uint8Array(100) });
      await sleep(20);
    }
    const callBps = ((cellsOut(0) - c0) * WIRE_CELL_SIZE) / secs;
    console.log(
      `link bytes of one call (100-byte frames, 50/s each way), initiator's uplink: ${f(callBps, 0)} B/s = ${f((callBps * 8) / 1000, 1)} kbit/s (goal <= 100)`,
    );
    await waitFor(() => on.debug(1).coverReady(), 10_000, 'cover tunnel');
    const c = await on.client(1);
    const k0 = cellsOut(1);
    for (let t = 0; t < secs * 50; t++) {
      c.send({ type: MessageType.ONION_COVER, coverSize: 100 });
      await sleep(20);
    }
    const coverBps = ((cellsOut(1) - k0) * WIRE_CELL_SIZE) / secs;
    console.log(
      `link bytes of one idle peer's cover (COVER 100 B at 50/s), its uplink: ${f(coverBps, 0)} B/s = ${f((coverBps * 8) / 1000, 1)} kbit/s`,
    );
    console.log(
      `(wire cell ${WIRE_CELL_SIZE} B; TCP/IP headers add ~40 B per segment when cells go out one by one)`,
    );
  } finally {
    await on.stop();
  }
}
