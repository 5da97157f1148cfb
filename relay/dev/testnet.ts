// A local network of N relays on 127.0.0.1 with free ports: used by `voidphone-testnet`, `npm start`,
// integration tests and benchmarks. Relay 0 bootstraps relay 1; relays 0 and 1 bootstrap the rest.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex } from '../../shared/identity.ts';
import { loadConfig } from '../config.ts';
import { loadHostkey } from '../hostkey.ts';
import { DEFAULT_KEY_DIR, ensureKeys } from './keypool.ts';
import { createLogger, type Logger } from '../log.ts';
import type { RelayModule } from '../module.ts';
import { type Relay, startRelay } from '../relay.ts';

export type TestnetMode = 'in-process' | 'processes';

export interface TestnetOptions {
  relays: number;
  /** Folder for relay-<i>.ini files and stores; kept. When absent, a fresh temp folder, removed at stop. */
  dir?: string;
  /** Key pool folder (reused across runs); default .keys/pool in the repo. */
  keysDir?: string;
  /** Overrides applied to every relay's config: { 'onion.round_seconds': '5' }. */
  set?: Record<string, string>;
  /** Per-relay overrides, by relay index. */
  setFor?: (index: number) => Record<string, string>;
  /** Where the relays run; a function chooses per relay (a benchmark puts the relays under test in their own processes). */
  mode?: TestnetMode | ((index: number) => TestnetMode);
  /**
   * Per relay: bind every P2P listener to 0.0.0.0 and advertise this IP (e.g. a loopback alias
   * 127.0.0.x), as a relay on a public address does. Default: bind and advertise 127.0.0.1.
   */
  advertise?: (index: number) => string;
  /** Modules to start (default: all that are built). */
  only?: string[];
  log?: Logger;
  /** Relay i's P2P address (default 127.0.0.1; APIs and bridge stay on 127.0.0.1). Hosts: hosts.ts. */
  p2pHost?: (index: number) => string;
  /** Processes mode: a command that runs relay i's node, e.g. ['ip', 'netns', 'exec', ns]. */
  spawnPrefix?: (index: number) => string[];
  /** Called once the relays' configs are written, before any starts (e.g. to listen on their ports). */
  beforeStart?: (relays: TestnetRelay[]) => Promise<void>;
}

export interface TestnetRelay {
  readonly index: number;
  readonly config: string;
  readonly hostkeyPath: string;
  readonly identity: string;
  readonly api: Record<string, string>;
  readonly p2p: Record<string, string>;
  running: boolean;
  /** Processes mode: the relay's process id while it runs. */
  pid(): number | undefined;
  /** In-process mode: the running module instances (tests and benchmarks may look inside). */
  modules(): RelayModule[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Testnet {
  readonly dir: string;
  readonly relays: TestnetRelay[];
  stop(): Promise<void>;
}

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Where ports are drawn: below Linux's ephemeral range (32768+), so that outgoing connections of other
 * processes cannot take them between our check and the relay's bind. Test workers running at once
 * (vitest sets VITEST_POOL_ID) each draw from their own slice: a port checked free by one worker can
 * stay unbound for seconds (modules started after the testnet), and another worker took it meanwhile.
 * VOIDPHONE_PORT_RANGE=low-high moves the whole range (several checkouts testing on one machine).
 */
function portRange(): { low: number; size: number } {
  const override = /^(\d+)-(\d+)$/.exec(process.env.VOIDPHONE_PORT_RANGE ?? '');
  if (override) return slice(Number(override[1]), Number(override[2]) - Number(override[1]));
  return slice(12000, 20000);
}

/** Several test workers at once (VITEST_POOL_ID) each take a quarter of the range. */
function slice(low: number, size: number): { low: number; size: number } {
  const pool = Number(process.env.VITEST_POOL_ID ?? 0);
  if (!Number.isInteger(pool) || pool < 1) return { low, size };
  const quarter = Math.floor(size / 4);
  return { low: low + ((pool - 1) % 4) * quarter, size: quarter };
}

/** Ports that are free now (see portRange). */
async function freePorts(n: number): Promise<number[]> {
  const held: import('node:net').Server[] = [];
  const ports = new Set<number>();
  const { low, size } = portRange();
  for (let tries = 0; ports.size < n; tries++) {
    if (tries > n * 20) throw new Error(`could not find ${n} free ports`);
    const port = low + Math.floor(Math.random() * size);
    if (ports.has(port)) continue;
    const server = createServer();
    const ok = await new Promise<boolean>((res) => {
      server.once('error', () => res(false));
      server.listen(port, '127.0.0.1', () => res(true));
    });
    if (!ok) continue;
    held.push(server);
    ports.add(port);
  }
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return [...ports];
}

interface Layout {
  api: Record<string, string>;
  p2p: Record<string, string>;
  sections: Record<string, Record<string, string>>;
}

function layout(
  ports: number[],
  bootstrap: Layout[],
  dir: string,
  index: number,
  host: string,
  advertise: string | undefined,
): Layout {
  const at = (i: number) => `127.0.0.1:${ports[i]}`;
  const api = { gossip: at(0), nse: at(1), rps: at(2), onion: at(3), dht: at(4) };
  // p2p: where peers reach each listener (the advertised address). A relay on a host of its own
  // (hosts.ts) binds that host's address; one with `advertise` binds 0.0.0.0 and advertises it.
  const pub = (i: number) => `${advertise ?? host}:${ports[i]}`;
  const p2p = { gossip: pub(5), rps: pub(6), onion: pub(7), dht: pub(8), bridge: at(9) };
  const listener = (i: number, privateKey = 'dial_private_addresses'): Record<string, string> =>
    advertise
      ? { p2p_address: `0.0.0.0:${ports[i]}`, p2p_advertise: advertise, [privateKey]: 'true' }
      : { p2p_address: `${host}:${ports[i]}` };
  const sections: Layout['sections'] = {
    gossip: { api_address: api.gossip, ...listener(5) },
    nse: { api_address: api.nse },
    rps: { api_address: api.rps, ...listener(6), store: join(dir, `rps-${index}.json`) },
    onion: { api_address: api.onion, ...listener(7, 'extend_private_addresses') },
    dht: { api_address: api.dht, ...listener(8), store: join(dir, `dht-${index}`) },
    bridge: { http_address: p2p.bridge },
  };
  if (bootstrap.length) {
    sections.gossip!.bootstrapper = bootstrap.map((b) => b.p2p.gossip!).join(',');
    sections.dht!.bootstrapper = bootstrap.map((b) => b.p2p.dht!).join(',');
    sections.rps!.bootstrapper = bootstrap.map((b) => b.p2p.rps!).join(',');
  }
  return { api, p2p, sections };
}

function renderIni(hostkey: string, sections: Layout['sections'], set: Record<string, string>): string {
  const merged: Layout['sections'] = structuredClone(sections);
  for (const [path, value] of Object.entries(set)) {
    const dot = path.indexOf('.');
    if (dot <= 0) throw new Error(`--set ${path}: expected section.key=value`);
    const sec = path.slice(0, dot);
    merged[sec] ??= {};
    merged[sec][path.slice(dot + 1)] = value;
  }
  let text = `hostkey = ${hostkey}\n`;
  for (const [name, kv] of Object.entries(merged)) {
    text += `\n[${name}]\n`;
    for (const [k, v] of Object.entries(kv)) text += `${k} = ${v}\n`;
  }
  return text;
}

const PORTS_PER_RELAY = 10;

export async function startTestnet(opts: TestnetOptions): Promise<Testnet> {
  // Another process may still bind one of our ports before we do: start again on fresh ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTestnetOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String((e as Error)?.message))) throw e;
      (opts.log ?? createLogger('testnet')).warn(
        `port taken while starting (${(e as Error).message}); retrying`,
      );
    }
  }
}

async function startTestnetOnce(opts: TestnetOptions): Promise<Testnet> {
  const log = opts.log ?? createLogger('testnet');
  const dir = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), 'voidphone-testnet-')));
  mkdirSync(dir, { recursive: true });
  const keys = await ensureKeys(resolve(opts.keysDir ?? join(REPO, DEFAULT_KEY_DIR)), opts.relays);
  const ports = await freePorts(opts.relays * PORTS_PER_RELAY);
  const relays: TestnetRelay[] = [];
  // Relays 0 and 1 bootstrap everyone else, so the network still admits a restarted relay when one is down.
  const bootstrappers: Layout[] = [];
  for (let i = 0; i < opts.relays; i++) {
    const l = layout(
      ports.slice(i * PORTS_PER_RELAY, (i + 1) * PORTS_PER_RELAY),
      bootstrappers.slice(0, Math.min(i, 2)),
      dir,
      i,
      opts.p2pHost?.(i) ?? '127.0.0.1',
      opts.advertise?.(i),
    );
    if (bootstrappers.length < 2) bootstrappers.push(l);
    const config = join(dir, `relay-${i}.ini`);
    const set = { ...opts.set, ...opts.setFor?.(i) };
    writeFileSync(config, renderIni(keys[i]!, l.sections, set));
    const identity = toHex((await loadHostkey(keys[i]!)).identity);
    const mode = typeof opts.mode === 'function' ? opts.mode(i) : opts.mode;
    const make = mode === 'processes' ? processRelay : inProcessRelay;
    relays.push(
      make({ index: i, config, hostkeyPath: keys[i]!, identity, api: l.api, p2p: l.p2p }, opts, log),
    );
  }
  const net: Testnet = {
    dir,
    relays,
    stop: async () => {
      await Promise.all(relays.map((r) => r.stop()));
      // A folder we made is ours to remove (test runs left thousands in /tmp); a given one is kept.
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await opts.beforeStart?.(relays);
    // The bootstrappers first.
    await relays[0]!.start();
    await relays[1]?.start();
    await Promise.all(relays.slice(2).map((r) => r.start()));
  } catch (e) {
    await net.stop();
    throw e;
  }
  return net;
}

type Base = Omit<TestnetRelay, 'running' | 'start' | 'stop' | 'modules' | 'pid'>;

function inProcessRelay(base: Base, opts: TestnetOptions, log: Logger): TestnetRelay {
  let relay: Relay | undefined;
  const r: TestnetRelay = {
    ...base,
    running: false,
    modules: () => relay?.modules ?? [],
    pid: () => (relay ? process.pid : undefined),
    async start() {
      if (relay) return;
      relay = await startRelay(loadConfig(base.config), {
        only: opts.only,
        log: log.child(`r${base.index}`),
      });
      r.running = true;
    },
    async stop() {
      const cur = relay;
      relay = undefined;
      r.running = false;
      await cur?.stop();
    },
  };
  return r;
}

function processRelay(base: Base, opts: TestnetOptions, log: Logger): TestnetRelay {
  let child: ChildProcess | undefined;
  const r: TestnetRelay = {
    ...base,
    running: false,
    modules: () => [],
    pid: () => child?.pid,
    start() {
      if (child) return Promise.resolve();
      const args = [join(REPO, 'bin/voidphone-relay.js'), '-c', base.config, '--ready-json'];
      if (opts.only) args.push('--only', opts.only.join(','));
      const [cmd, ...pre] = [...(opts.spawnPrefix?.(base.index) ?? []), process.execPath];
      const proc = spawn(cmd!, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let errTail = '';
      proc.stderr!.on('data', (d: Buffer) => {
        process.stderr.write(d);
        errTail = (errTail + d.toString()).slice(-1000);
      });
      return new Promise<void>((res, rej) => {
        let out = '';
        const onData = (d: Buffer) => {
          out += d.toString();
          if (out.includes('"ready":true')) {
            proc.stdout!.off('data', onData);
            r.running = true;
            res();
          }
        };
        proc.stdout!.on('data', onData);
        proc.once('exit', (code) => {
          r.running = false;
          child = undefined;
          rej(
            new Error(`relay ${base.index} exited with code ${code} before it was ready: ${errTail.trim()}`),
          );
        });
        proc.once('error', rej);
      });
    },
    stop() {
      const proc = child;
      child = undefined;
      r.running = false;
      if (!proc || proc.exitCode !== null) return Promise.resolve();
      return new Promise<void>((res) => {
        const kill = setTimeout(() => {
          log.warn(`relay ${base.index} did not stop in 5 s: SIGKILL`);
          proc.kill('SIGKILL');
        }, 5000);
        proc.once('exit', () => {
          clearTimeout(kill);
          res();
        });
        proc.kill('SIGTERM');
      });
    },
  };
  return r;
}
