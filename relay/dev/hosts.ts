// Hosts on one machine: N Linux network namespaces ("hosts"), each with one address from
// 198.18.0.0/15 (the benchmarking range: obviously a test address), joined by veth links to a
// router namespace; optional WAN conditions between them. Root only (`ip netns`).
//
//   host i (vpn-<id>-h<i>)  198.18.<i+1>.2 on "wan" ─── 198.18.<i+1>.1 router (vpn-<id>-r, forwards)
//                           198.19.<i+1>.2 on "front" ─ 198.19.<i+1>.1 WAN (vpn-<id>-w), userspace only
//
// Without conditions, or with netem in the kernel, hosts route each other via the router (netem
// sits on the router's port toward each host). Without netem (this machine), a host's connections
// to other hosts go to the WAN namespace instead, where 198.18.0.0/16 is local: wan-forwarder.mjs
// accepts them, shapes them, and has the source host's dialer make the real connection from the
// source host's own address over the router (policy routing: packets from a host's address always
// take the router), so the far relay sees the true source. Everything made is recorded for
// reaper.mjs before it is made, and removed on stop, on exit, on signals, and by a watcher once this
// process is gone however it ended.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../log.ts';
import { destroy, registryDir, sweep } from './reaper.mjs';
import { formatWan, netemArgs, NO_WAN, type WanConditions } from './wan.ts';

const REAPER = fileURLToPath(new URL('./reaper.mjs', import.meta.url));
const FORWARDER = fileURLToPath(new URL('./wan-forwarder.mjs', import.meta.url));
const ROUTE_TABLE = '100';

/**
 * First part of every namespace name (`<prefix>-<id>-<role>`): VOIDPHONE_NETNS_PREFIX (2-6 lowercase
 * letters) lets several checkouts on one machine tell their namespaces apart; default `vpn`.
 */
export function netnsPrefix(): string {
  const p = process.env.VOIDPHONE_NETNS_PREFIX ?? 'vpn';
  if (!/^[a-z]{2,6}$/.test(p)) throw new Error(`VOIDPHONE_NETNS_PREFIX "${p}": 2-6 lowercase letters`);
  return p;
}

export type WanMode = 'none' | 'netem' | 'userspace';

export interface HostsOptions {
  hosts: number;
  /** Conditions on every host's link (each pair of hosts: delay is the added RTT). */
  wan?: WanConditions;
  /** 'auto' (default): netem when the kernel has it, else the userspace forwarder. */
  wanMode?: 'auto' | 'netem' | 'userspace';
  log?: Logger;
}

export interface Host {
  index: number;
  ns: string;
  /** The host's address: its relays bind and advertise it. */
  address: string;
  /** Prefix that runs a command in this host: ['ip', 'netns', 'exec', ns]. */
  exec: string[];
}

export interface Hosts {
  id: string;
  hosts: Host[];
  wanMode: WanMode;
  /** Conditions on host i's link (what reaches it); userspace: before forward() starts the forwarder. */
  applyWan(host: number, c: WanConditions): void;
  /** Userspace mode: start the forwarder for these ports (every relay's P2P ports); else nothing. */
  forward(ports: number[]): Promise<void>;
  /**
   * An address on this machine's own 127.0.0.1 that reaches `port` on host i's 127.0.0.1 (a relay's
   * API or bridge there), for tests and benchmarks outside the namespaces. Each connection is carried
   * by a dialer inside the host over a Unix socket, as the userspace WAN does.
   */
  reach(host: number, port: number): Promise<string>;
  /** An executable script running `program` inside host i (playwright's executablePath for Chromium). */
  wrapper(host: number, program: string): string;
  stop(): Promise<void>;
}

/** Whether this process can make network namespaces (root and iproute2): else a reason. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_SYS_ADMIN)';
  // Make and delete one: listing works in containers that may not create namespaces.
  const probe = `${netnsPrefix()}-${randomBytes(3).toString('hex')}-probe`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  } catch {
    return '`ip netns add` does not work here (iproute2 missing, or no CAP_SYS_ADMIN in this container)';
  }
  return undefined;
}

function ip(...args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = String((e as { stderr?: Buffer }).stderr ?? e).trim();
    throw new Error(`ip ${args.join(' ')}: ${err}`);
  }
}

function inNs(ns: string, cmd: string, ...args: string[]): void {
  execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore' });
}

function kernelHasNetem(router: string): boolean {
  try {
    execFileSync('tc', ['-n', router, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], {
      stdio: 'ignore',
    });
    execFileSync('tc', ['-n', router, 'qdisc', 'del', 'dev', 'lo', 'root'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs a forwarder process (in a namespace) and waits for its "ready" line. */
function startForwarder(ns: string, args: string[], log: Logger): Promise<ChildProcess> {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, FORWARDER, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr!.on('data', (d: Buffer) => log.warn(`forwarder in ${ns}: ${d.toString().trim()}`));
  // Only a hung start ends the wait: a plain node process, but a loaded machine (many test workers at
  // low priority) has taken over 10 s to start one.
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      rej(new Error(`forwarder in ${ns} not ready in 60 s`));
    }, 60_000);
    proc.stdout!.once('data', () => {
      clearTimeout(timer);
      res(proc);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`forwarder in ${ns} exited with ${code}`));
    });
  });
}

/** Register the set in the reaper's registry, and arrange its removal however this process ends. */
function registerCleanup(id: string, namespaces: string[]): { release(): void } {
  sweep();
  const file = join(registryDir(), `${id}.json`);
  writeFileSync(file, JSON.stringify({ pid: process.pid, namespaces }));
  const watcher = spawn(process.execPath, [REAPER, '--watch', file, String(process.pid)], {
    detached: true,
    stdio: 'ignore',
  });
  watcher.unref();
  const destroyNow = () => destroy(file);
  // Another handler (voidphone-testnet's) stops the relays first and then us; alone, we end the process.
  const onSignal = (sig: NodeJS.Signals) => {
    if (process.listenerCount(sig) > 1) return;
    destroyNow();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  };
  process.on('exit', destroyNow);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    release() {
      destroyNow();
      process.off('exit', destroyNow);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (watcher.pid) {
        try {
          process.kill(watcher.pid);
        } catch {}
      }
    },
  };
}

export async function startHosts(opts: HostsOptions): Promise<Hosts> {
  const n = opts.hosts;
  if (!Number.isInteger(n) || n < 1 || n > 250) throw new Error('hosts: 1..250');
  const why = netnsUnavailable();
  if (why) throw new Error(`hosts on one machine: ${why}`);
  const log = opts.log ?? createLogger('hosts');
  const id = randomBytes(3).toString('hex');
  const pre = `${netnsPrefix()}-${id}`;
  const router = `${pre}-r`;
  const wanNs = `${pre}-w`;
  const hosts: Host[] = Array.from({ length: n }, (_, i) => {
    const ns = `${pre}-h${i}`;
    return { index: i, ns, address: `198.18.${i + 1}.2`, exec: ['ip', 'netns', 'exec', ns] };
  });
  const wan = opts.wan ?? NO_WAN;
  const wantWan = wan.delayMs > 0 || wan.jitterMs > 0 || wan.loss > 0 || wan.rateBps > 0;
  const cleanup = registerCleanup(id, [router, wanNs, ...hosts.map((h) => h.ns)]);
  const scratch = mkdtempSync(join(tmpdir(), `${pre}-`));
  const procs: ChildProcess[] = [];
  const servers: Server[] = [];
  const stop = async () => {
    for (const srv of servers) srv.close();
    for (const p of procs) p.kill('SIGKILL');
    cleanup.release();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    ip('netns', 'add', router);
    ip('-n', router, 'link', 'set', 'lo', 'up');
    inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    for (const h of hosts) {
      const net = `198.18.${h.index + 1}`;
      ip('netns', 'add', h.ns);
      ip('-n', h.ns, 'link', 'set', 'lo', 'up');
      // Answers from other hosts arrive on "wan" though new connections to them leave by "front".
      inNs(h.ns, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0');
      ip('link', 'add', 'wan', 'netns', h.ns, 'type', 'veth', 'peer', 'name', `h${h.index}`, 'netns', router);
      ip('-n', h.ns, 'addr', 'add', `${net}.2/24`, 'dev', 'wan');
      ip('-n', router, 'addr', 'add', `${net}.1/24`, 'dev', `h${h.index}`);
      ip('-n', h.ns, 'link', 'set', 'wan', 'up');
      ip('-n', router, 'link', 'set', `h${h.index}`, 'up');
    }
    let mode: WanMode = 'none';
    if (wantWan) {
      const has = opts.wanMode !== 'userspace' && kernelHasNetem(router);
      if (opts.wanMode === 'netem' && !has)
        throw new Error('hosts: --wan-mode netem, but the kernel has no netem');
      mode = has ? 'netem' : 'userspace';
    }
    if (mode === 'userspace') {
      ip('netns', 'add', wanNs);
      ip('-n', wanNs, 'link', 'set', 'lo', 'up');
      // Every host address is local here: the forwarder accepts connections to any of them.
      ip('-n', wanNs, 'route', 'add', 'local', '198.18.0.0/16', 'dev', 'lo');
      for (const h of hosts) {
        const net = `198.19.${h.index + 1}`;
        ip(
          'link',
          'add',
          'front',
          'netns',
          h.ns,
          'type',
          'veth',
          'peer',
          'name',
          `h${h.index}`,
          'netns',
          wanNs,
        );
        ip('-n', h.ns, 'addr', 'add', `${net}.2/24`, 'dev', 'front');
        ip('-n', wanNs, 'addr', 'add', `${net}.1/24`, 'dev', `h${h.index}`);
        ip('-n', h.ns, 'link', 'set', 'front', 'up');
        ip('-n', wanNs, 'link', 'set', `h${h.index}`, 'up');
        // New connections (no source chosen yet) go to the WAN; anything from the host's own address
        // (answers to the dialers, the dialer's own connections) takes the router.
        ip('-n', h.ns, 'route', 'add', '198.18.0.0/16', 'via', `${net}.1`, 'dev', 'front', 'src', `${net}.2`);
        ip('-n', h.ns, 'rule', 'add', 'from', h.address, 'lookup', ROUTE_TABLE, 'pref', '100');
        const gw = `198.18.${h.index + 1}.1`;
        ip('-n', h.ns, 'route', 'add', '198.18.0.0/16', 'via', gw, 'dev', 'wan', 'table', ROUTE_TABLE);
      }
    } else {
      for (const h of hosts) {
        ip('-n', h.ns, 'route', 'add', '198.18.0.0/16', 'via', `198.18.${h.index + 1}.1`, 'dev', 'wan');
      }
    }
    const conditions: (WanConditions | null)[] = hosts.map(() => null);
    let forwarding = false;
    const applyWan = (i: number, c: WanConditions) => {
      if (mode === 'netem') {
        execFileSync('tc', [
          '-n',
          router,
          'qdisc',
          'replace',
          'dev',
          `h${i}`,
          'root',
          'netem',
          ...netemArgs(c),
        ]);
      } else if (mode === 'userspace') {
        if (forwarding) throw new Error('hosts: set WAN conditions before forward()');
        conditions[i] = c;
      } else throw new Error('hosts: started without WAN conditions');
    };
    if (wantWan) for (const h of hosts) applyWan(h.index, wan);
    const localDialers = new Map<number, Promise<string>>();
    const reach = async (i: number, port: number): Promise<string> => {
      const h = hosts[i];
      if (!h) throw new Error(`hosts: no host ${i}`);
      let sock = localDialers.get(i);
      if (!sock) {
        const path = join(scratch, `local-${i}.sock`);
        sock = startForwarder(h.ns, ['dial', path, '127.0.0.1'], log).then((p) => {
          procs.push(p);
          return path;
        });
        localDialers.set(i, sock);
        sock.catch(() => localDialers.delete(i));
      }
      const path = await sock;
      const server = createServer({ allowHalfOpen: true }, (c) => {
        const pipe = connect({ path, allowHalfOpen: true });
        pipe.write(`127.0.0.1 ${port}\n`);
        c.pipe(pipe).pipe(c);
        const close = () => {
          c.destroy();
          pipe.destroy();
        };
        for (const s of [c, pipe]) s.on('error', close);
      });
      servers.push(server);
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(0, '127.0.0.1', () => res());
      });
      return `127.0.0.1:${(server.address() as { port: number }).port}`;
    };
    if (wantWan) log.info(`${n} hosts, WAN ${formatWan(wan)} (${mode})`);
    return {
      id,
      hosts,
      wanMode: mode,
      applyWan,
      async forward(ports: number[]) {
        if (mode !== 'userspace' || forwarding) return;
        forwarding = true;
        const config = join(scratch, 'front.json');
        const hostsCfg = hosts.map((h) => ({
          address: h.address,
          front: `198.19.${h.index + 1}.2`,
          dialSock: join(scratch, `dial-${h.index}.sock`),
          wan: conditions[h.index],
        }));
        writeFileSync(config, JSON.stringify({ ports, hosts: hostsCfg }));
        const dialers = hosts.map((h, i) =>
          startForwarder(h.ns, ['dial', hostsCfg[i]!.dialSock, h.address], log),
        );
        procs.push(...(await Promise.all(dialers)));
        procs.push(await startForwarder(wanNs, ['front', config], log));
      },
      reach: (i, port) => reach(i, port),
      wrapper(i: number, program: string) {
        const path = join(scratch, `in-h${i}-${program.replace(/\W/g, '_')}`);
        writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${hosts[i]!.ns} ${program} "$@"\n`);
        chmodSync(path, 0o755);
        return path;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
