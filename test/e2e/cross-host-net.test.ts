// Hosts on one machine (relay/dev/hosts.ts) without relays: the userspace WAN holds each direction at
// least delay/2 (a lower bound the forwarder guarantees, not a timing figure of this machine), the far
// end sees the true source host's address, and every namespace is gone after stop() and after the
// creating process is SIGKILLed. Needs root; skips with a reason if not.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Hosts, netnsPrefix, netnsUnavailable, startHosts } from '../../relay/dev/hosts.ts';
import { netemArgs, parseWan } from '../../relay/dev/wan.ts';
import { until } from './call-helpers.ts';

const unavailable = netnsUnavailable();
if (unavailable) console.warn(`cross-host net test SKIPPED: ${unavailable}; CI runs it as root`);

const PORT = 26999;
const namespaces = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);

/** A process in host `h` (node -e script); resolves with it once it printed its first line. */
function inHost(hosts: Hosts, h: number, script: string): Promise<{ proc: ChildProcess; first: string }> {
  const [cmd, ...pre] = hosts.hosts[h]!.exec;
  const proc = spawn(cmd!, [...pre, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((res, rej) => {
    proc.stdout!.once('data', (d: Buffer) => res({ proc, first: d.toString().trim() }));
    proc.once('exit', (code) => rej(new Error(`exited ${code}`)));
  });
}

let hosts: Hosts | undefined;
afterEach(async () => {
  await hosts?.stop();
  hosts = undefined;
});

describe.skipIf(!!unavailable)('hosts on one machine', () => {
  it('the userspace WAN delays each way, keeps the source address, sends the FIN after the data', async () => {
    hosts = await startHosts({ hosts: 2, wan: parseWan('delay=60ms'), wanMode: 'userspace' });
    expect(hosts.wanMode).toBe('userspace');
    await hosts.forward([PORT, PORT + 1]);
    const [a, b] = hosts.hosts;
    // An echo server on host 1 that first says who connected.
    const server = await inHost(
      hosts,
      1,
      `require('net').createServer(s => { s.write(s.remoteAddress + '\\n'); s.pipe(s); })
        .listen(${PORT}, '${b!.address}', () => console.log('up'));`,
    );
    // Host 0 connects, reads who the server saw, then times ten echoes.
    const client = await inHost(
      hosts,
      0,
      `const s = require('net').connect(${PORT}, '${b!.address}'); s.setNoDelay(true);
      let seen, t, rtts = [], buf = '';
      s.on('data', d => {
        buf += d;
        if (!seen) { const nl = buf.indexOf('\\n'); if (nl < 0) return; seen = buf.slice(0, nl); buf = ''; }
        else { rtts.push(performance.now() - t); buf = ''; }
        if (rtts.length === 10) { console.log(JSON.stringify({ seen, rtts })); process.exit(0); }
        t = performance.now(); s.write('x');
      });`,
    );
    const r = JSON.parse(client.first) as { seen: string; rtts: number[] };
    server.proc.kill();
    // A server that writes 1 MB and closes: everything arrives before the FIN that follows it.
    const bulk = await inHost(
      hosts,
      1,
      `require('net').createServer(s => s.end(Buffer.alloc(1e6, 7)))
        .listen(${PORT + 1}, '${b!.address}', () => console.log('up'));`,
    );
    const got = await inHost(
      hosts,
      0,
      `let n = 0; const s = require('net').connect(${PORT + 1}, '${b!.address}');
      s.on('data', d => { n += d.length; }); s.on('end', () => { console.log(n); process.exit(0); });`,
    );
    bulk.proc.kill();
    expect(Number(got.first)).toBe(1e6);
    expect(r.seen).toBe(a!.address);
    // Each direction is held at least delay/2 = 30 ms: every echo takes >= 60 ms.
    expect(Math.min(...r.rtts)).toBeGreaterThanOrEqual(59);
    console.log(`echo RTTs over delay=60ms (ms): ${r.rtts.map((x) => x.toFixed(1)).join(' ')}`);
  }, 30_000);

  it('stop() removes every namespace it made', async () => {
    const h = await startHosts({ hosts: 3, wan: parseWan('delay=10ms'), wanMode: 'userspace' });
    const made = namespaces().filter((n) => n.startsWith(`${netnsPrefix()}-${h.id}-`));
    expect(made.length).toBe(5); // 3 hosts, router, WAN
    await h.stop();
    expect(namespaces().filter((n) => n.startsWith(`${netnsPrefix()}-${h.id}-`))).toEqual([]);
  }, 30_000);

  it('a SIGKILLed creator leaves nothing behind (the watcher removes it)', async () => {
    const module = fileURLToPath(new URL('../../relay/dev/hosts.ts', import.meta.url));
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('${module}').then(async (m) => { const h = await m.startHosts({ hosts: 2 }); console.log(h.id); setInterval(() => {}, 1000); })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const id = await new Promise<string>((res) =>
      proc.stdout!.once('data', (d: Buffer) => res(d.toString().trim())),
    );
    expect(namespaces().filter((n) => n.startsWith(`${netnsPrefix()}-${id}-`)).length).toBe(3);
    proc.kill('SIGKILL');
    await until(
      async () => namespaces().filter((n) => n.startsWith(`${netnsPrefix()}-${id}-`)).length === 0,
      'namespaces of the killed process removed',
      10_000,
    );
  }, 30_000);
});

describe('--wan conditions', () => {
  it('parses what the CLI takes, and refuses the rest naming the item', () => {
    expect(parseWan('delay=40ms,jitter=5ms,loss=1%,rate=10mbit,rto=0.2s')).toEqual({
      delayMs: 40,
      jitterMs: 5,
      loss: 0.01,
      rateBps: 10e6,
      rtoMs: 200,
    });
    expect(parseWan('')).toEqual({ delayMs: 0, jitterMs: 0, loss: 0, rateBps: 0, rtoMs: 0 });
    expect(() => parseWan('delay=40')).not.toThrow(); // ms by default
    expect(() => parseWan('loss=1')).toThrow(/loss=1/);
    expect(() => parseWan('loss=101%')).toThrow(/loss=101%/);
    expect(() => parseWan('delay=fast')).toThrow(/delay=fast/);
    expect(() => parseWan('reorder=5%')).toThrow(/reorder=5%/);
  });

  it('gives netem half the RTT per direction (a packet between hosts crosses one netem)', () => {
    expect(netemArgs(parseWan('delay=40ms,jitter=5ms,loss=1%,rate=512kbit'))).toEqual([
      'delay',
      '20ms',
      '5ms',
      'loss',
      '1%',
      'rate',
      '512000bit',
    ]);
  });
});
