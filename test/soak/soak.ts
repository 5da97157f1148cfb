// The soak: a testnet of relay processes (every module) carrying one call between two API clients
// for `minutes`, while churn kills and restarts a share of the other relays at random, and abuse
// floods one relay's ports and abandons tunnels through it. It records, per minute, the call's
// frames, every relay's memory, file descriptors and event-loop lag (test/soak/vitals.mjs), and,
// per churn event, whether the call carried on (frames both ways within one round).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAddress } from '../../shared/address.ts';
import type { OnionTunnelBuild } from '../../shared/wire/types.ts';
import { hostkeyFromPem } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { startTestnet, type Testnet, type TestnetRelay } from '../../relay/dev/testnet.ts';
import { type Abuse, startAbuse } from './abuse.ts';
import { type SoakCall, startSoakCall } from './call.ts';

export interface SoakOptions {
  minutes: number;
  relays: number;
  roundSeconds: number;
  /** Share of the relays killed at each churn event. */
  churn: number;
  /** Seconds between churn events. */
  churnEverySeconds: number;
  /** Seconds a killed relay stays down. */
  downSeconds: number;
  /** Vitals sample interval. */
  sampleMs: number;
  /** Called with a line of progress (one a minute, and each churn event). */
  progress?: (line: string) => void;
  /** Log level of the caller's relay (its lines go to stderr): why its builds failed is at debug. */
  callerLog?: string;
}

export interface Vitals {
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  fds: number;
  lagP99Ms: number;
  lagMaxMs: number;
  /** A line written right after a full GC (memory only: no fds or lag). */
  gc?: true;
}

export interface ChurnEvent {
  at: number;
  killed: number[];
  /** ms from the kill until frames flowed both ways again after a silence (0: they never stopped). */
  resumedAfterMs: number | undefined;
  /** Carried on within one round of the kill (or of the restart, for a relay on the call's ends). */
  resumedWithinRound: boolean;
}

export interface MinuteRow {
  minute: number;
  framesSent: [number, number];
  framesLost: [number, number];
  /** Per relay index: the last sample of the minute (undefined while down). */
  vitals: (Vitals | undefined)[];
}

export interface SoakResult {
  options: SoakOptions;
  minutes: MinuteRow[];
  churn: ChurnEvent[];
  /** Relay exits we did not cause. */
  crashes: { relay: number; at: number }[];
  builds: number;
  callErrors: string[];
  abuse: Abuse['counts'];
  /** Relays never killed: heap and RSS at the reference minute and at the end. */
  growth: {
    relay: number;
    rssFrom: number;
    rssTo: number;
    heapFrom: number;
    heapTo: number;
    /** Judged on the after-GC samples. */
    afterGc: boolean;
    /** Its process (the name of its vitals file). */
    pid: number;
  }[];
  referenceMinute: number;
}

const VITALS = fileURLToPath(new URL('./vitals.mjs', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The relays' roles: 2 and 3 carry the call's ends, 4 is abused, 0 and 1 bootstrap; the rest churn. */
const ALICE = 2;
const BOB = 3;
const ABUSED = 4;

function buildTo(r: TestnetRelay): OnionTunnelBuild {
  const { host, port } = parseAddress(r.p2p.onion!);
  const key = hostkeyFromPem(readFileSync(r.hostkeyPath, 'utf8'));
  return { type: 560, address: host, port, hostkey: key.spkiDer };
}

/** Every vitals line of a process (none if it wrote none yet). */
function vitalsOf(dir: string, pid: number | undefined): Vitals[] {
  if (!pid) return [];
  try {
    return readFileSync(join(dir, `${pid}.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Vitals);
  } catch {
    return [];
  }
}

/** The newest regular vitals line of a process (not an after-GC one), if it wrote one. */
function latestVitals(dir: string, pid: number | undefined): Vitals | undefined {
  return vitalsOf(dir, pid).findLast((v) => !v.gc);
}

/**
 * Smallest heap (or RSS) of a process's samples in [from, to): a leak shows in what survives a GC,
 * not in the peaks. `afterGc`: only the lines written right after a full GC (one a minute).
 */
function floor(
  key: 'heapUsed' | 'rss',
  afterGc: boolean,
  dir: string,
  pid: number | undefined,
  from: number,
  to = Infinity,
): number | undefined {
  const use = vitalsOf(dir, pid).filter((v) => v.t >= from && v.t < to && (!afterGc || v.gc));
  return use.length ? Math.min(...use.map((v) => v[key])) : undefined;
}

async function withVitals<T>(dir: string, sampleMs: number, f: () => Promise<T>): Promise<T> {
  const saved = { opts: process.env.NODE_OPTIONS, dir: process.env.VOIDPHONE_VITALS_DIR };
  process.env.NODE_OPTIONS = `${saved.opts ?? ''} --expose-gc --import=${VITALS}`.trim();
  process.env.VOIDPHONE_VITALS_DIR = dir;
  process.env.VOIDPHONE_VITALS_MS = String(sampleMs);
  try {
    return await f();
  } finally {
    if (saved.opts === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved.opts;
    if (saved.dir === undefined) delete process.env.VOIDPHONE_VITALS_DIR;
    else process.env.VOIDPHONE_VITALS_DIR = saved.dir;
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  if (o.relays < 8)
    throw new Error('a soak needs at least 8 relays (2 bootstrappers, 2 call ends, 1 abused, churn)');
  const dir = mkdtempSync(join(tmpdir(), 'voidphone-soak-'));
  const vitalsDir = join(dir, 'vitals');
  mkdirSync(vitalsDir);
  const say = o.progress ?? (() => {});
  // Relays log warnings and errors only: abuse makes every violation a line.
  const savedLog = process.env.VOIDPHONE_LOG;
  process.env.VOIDPHONE_LOG = process.env.VOIDPHONE_LOG ?? 'error';
  let net: Testnet | undefined;
  let call: SoakCall | undefined;
  let abuse: Abuse | undefined;
  try {
    // Relays restarted by churn are started with the vitals preload too: the whole soak runs inside.
    return await withVitals(vitalsDir, o.sampleMs, async () => {
      net = await startTestnet({
        relays: o.relays,
        dir: join(dir, 'net'),
        mode: 'processes',
        set: { 'onion.round_seconds': String(o.roundSeconds) },
        log: createLogger('soak-testnet', 'warn'),
        spawnPrefix: (i) => (i === ALICE && o.callerLog ? ['env', `VOIDPHONE_LOG=${o.callerLog}`] : []),
      });
      return soak(o, net, vitalsDir, say, (c, a) => {
        call = c;
        abuse = a;
      });
    });
  } finally {
    call?.stop();
    abuse?.stop();
    await net?.stop();
    if (savedLog === undefined) delete process.env.VOIDPHONE_LOG;
    else process.env.VOIDPHONE_LOG = savedLog;
    // VOIDPHONE_SOAK_KEEP=dir: copy every relay's vitals lines there first (to study them after).
    const keep = process.env.VOIDPHONE_SOAK_KEEP;
    if (keep) cpSync(vitalsDir, keep, { recursive: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function soak(
  o: SoakOptions,
  net: Testnet,
  vitalsDir: string,
  say: (line: string) => void,
  hold: (c: SoakCall, a: Abuse) => void,
): Promise<SoakResult> {
  const relays = net.relays;
  const roundMs = o.roundSeconds * 1000;
  // Let RPS views fill before the first tunnel: an onion path needs peers to sample.
  await sleep(Math.max(5000, 2 * roundMs));
  const call = await startSoakCall(relays[ALICE]!.api.onion!, relays[BOB]!.api.onion!, buildTo(relays[BOB]!));
  const others = relays.filter((r) => r.index !== ABUSED).map(buildTo);
  const abuse = startAbuse({ api: relays[ABUSED]!.api, p2p: relays[ABUSED]!.p2p, builds: others });
  hold(call, abuse);

  const killedByUs = new Set<number>();
  const everKilled = new Set<number>();
  const crashes: SoakResult['crashes'] = [];
  const churn: ChurnEvent[] = [];
  const minutes: MinuteRow[] = [];
  const churnable = relays.filter((r) => ![ALICE, BOB].includes(r.index));
  const start = Date.now();
  const end = start + o.minutes * 60_000;
  let nextChurn = start + o.churnEverySeconds * 1000;
  let nextMinute = start + 60_000;
  let lastSent: [number, number] = [0, 0];
  let lastRecv: [number, number] = [0, 0];
  const churning: Promise<unknown>[] = [];

  while (Date.now() < end) {
    await sleep(250);
    for (const r of relays) {
      if (!r.running && !killedByUs.has(r.index)) {
        crashes.push({ relay: r.index, at: Date.now() });
        say(`relay ${r.index} exited on its own: restarting it`);
        killedByUs.add(r.index); // counted once; restarted below
        void restart(r, killedByUs, 1000, say);
      }
    }
    if (Date.now() >= nextChurn && Date.now() < end - roundMs) {
      nextChurn += o.churnEverySeconds * 1000;
      // Not awaited: it watches the call for 1.5 rounds, and the minute rows must not wait (they
      // came 75 and 45 s apart, and "frames per minute" with them).
      churning.push(
        churnEvent(o, churnable, killedByUs, everKilled, call, roundMs, say).then((e) => churn.push(e)),
      );
    }
    if (Date.now() >= nextMinute) {
      nextMinute += 60_000;
      const sent: [number, number] = [call.aliceToBob.sent, call.bobToAlice.sent];
      const recv: [number, number] = [call.aliceToBob.received, call.bobToAlice.received];
      const row: MinuteRow = {
        minute: minutes.length + 1,
        framesSent: [sent[0] - lastSent[0], sent[1] - lastSent[1]],
        framesLost: [
          Math.max(0, sent[0] - lastSent[0] - (recv[0] - lastRecv[0])),
          Math.max(0, sent[1] - lastSent[1] - (recv[1] - lastRecv[1])),
        ],
        vitals: relays.map((r) => (r.running ? latestVitals(vitalsDir, r.pid()) : undefined)),
      };
      lastSent = sent;
      lastRecv = recv;
      minutes.push(row);
      say(minuteLine(row));
    }
  }
  await Promise.all(churning);
  // Memory: relays never killed, heap and RSS floors in the reference minute against the last minute.
  const referenceMinute = Math.min(10, Math.max(1, Math.floor(o.minutes / 3)));
  const refFrom = start + (referenceMinute - 1) * 60_000;
  const refTo = start + referenceMinute * 60_000;
  const growth = relays
    .filter((r) => !everKilled.has(r.index) && r.running)
    .flatMap((r) => {
      // The floor within the reference minute (the floor of everything after it, taken before,
      // fell after the minute in the 60-minute run and left no relay judged at all).
      const last = Date.now() - 60_000;
      // After-GC samples where both windows have one (the hour), else all samples (short runs).
      const floors = (afterGc: boolean) => [
        floor('heapUsed', afterGc, vitalsDir, r.pid(), refFrom, refTo),
        floor('heapUsed', afterGc, vitalsDir, r.pid(), last),
        floor('rss', afterGc, vitalsDir, r.pid(), refFrom, refTo),
        floor('rss', afterGc, vitalsDir, r.pid(), last),
      ];
      const gcFloors = floors(true);
      const [heapFrom, heapTo, rssFrom, rssTo] = gcFloors.every(Boolean) ? gcFloors : floors(false);
      if (!heapFrom || !heapTo || !rssFrom || !rssTo) return [];
      return [
        { relay: r.index, pid: r.pid()!, rssFrom, rssTo, heapFrom, heapTo, afterGc: gcFloors.every(Boolean) },
      ];
    });
  return {
    options: o,
    minutes,
    churn,
    crashes,
    builds: call.builds,
    callErrors: call.errors,
    abuse: { ...abuse.counts },
    growth,
    referenceMinute,
  };
}

/** Starts a relay again after a pause; a failed start is retried (it is ours, not a crash). */
async function restart(
  r: TestnetRelay,
  killedByUs: Set<number>,
  afterMs: number,
  say: (line: string) => void,
): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    await sleep(afterMs);
    try {
      await r.start();
      break;
    } catch (e) {
      say(`relay ${r.index} did not start again (attempt ${attempt}): ${(e as Error).message}`);
    }
  }
  killedByUs.delete(r.index);
}

async function churnEvent(
  o: SoakOptions,
  churnable: TestnetRelay[],
  killedByUs: Set<number>,
  everKilled: Set<number>,
  call: SoakCall,
  roundMs: number,
  say: (line: string) => void,
): Promise<ChurnEvent> {
  const up = churnable.filter((r) => r.running && !killedByUs.has(r.index));
  const n = Math.max(1, Math.round(o.churn * (churnable.length + 2)));
  const victims = up.sort(() => Math.random() - 0.5).slice(0, n);
  const at = Date.now();
  for (const r of victims) {
    killedByUs.add(r.index);
    everKilled.add(r.index);
    process.kill(r.pid()!, 'SIGKILL');
  }
  await Promise.all(victims.map((r) => waitDown(r)));
  // Restart them after downSeconds, in the background; the call must not wait for them.
  for (const r of victims) void restart(r, killedByUs, o.downSeconds * 1000, say);
  const resumed = await waitResumed(call, at, roundMs);
  const ev: ChurnEvent = {
    at,
    killed: victims.map((r) => r.index),
    resumedAfterMs: resumed,
    resumedWithinRound: resumed !== undefined && resumed <= roundMs,
  };
  say(
    `churn: killed relays ${ev.killed.join(', ')}; call ${resumed === undefined ? 'did NOT resume' : resumed === 0 ? 'never stopped' : `resumed after ${resumed} ms`}`,
  );
  return ev;
}

async function waitDown(r: TestnetRelay): Promise<void> {
  for (let i = 0; i < 200 && r.running; i++) await sleep(25);
  // processRelay learns of the exit from the child's 'exit' event; its stop() is then a no-op.
  await r.stop();
}

/**
 * Watches both directions for 1.5 rounds after a kill: 0 if neither went quiet for more than 200 ms,
 * else the time from the kill until both flowed again (undefined: one never came back).
 */
async function waitResumed(call: SoakCall, at: number, roundMs: number): Promise<number | undefined> {
  const dirs = [call.aliceToBob, call.bobToAlice];
  let silent = false;
  const deadline = at + 1.5 * roundMs;
  while (Date.now() < deadline) {
    await sleep(50);
    const now = Date.now();
    const quiet = dirs.some((d) => now - d.lastAt > 200);
    if (quiet) silent = true;
    else if (silent) return now - at;
  }
  if (!silent) return 0;
  return dirs.every((d) => Date.now() - d.lastAt <= 200) ? Date.now() - at : undefined;
}

const mb = (b: number) => (b / 2 ** 20).toFixed(0);

export function minuteLine(row: MinuteRow): string {
  const v = row.vitals.filter((x): x is Vitals => !!x);
  const max = (f: (x: Vitals) => number) => Math.max(0, ...v.map(f));
  const min = (f: (x: Vitals) => number) => Math.min(...v.map(f));
  return (
    `minute ${row.minute}: frames a->b ${row.framesSent[0]} sent ${row.framesLost[0]} lost, ` +
    `b->a ${row.framesSent[1]} sent ${row.framesLost[1]} lost; relays up ${v.length}/${row.vitals.length}, ` +
    `RSS ${mb(min((x) => x.rss))}-${mb(max((x) => x.rss))} MB, heap ${mb(min((x) => x.heapUsed))}-${mb(max((x) => x.heapUsed))} MB, ` +
    `fds max ${max((x) => x.fds)}, loop lag p99 max ${max((x) => x.lagP99Ms).toFixed(1)} ms`
  );
}
