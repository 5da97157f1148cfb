// The operator's commands (issue 16): init on an empty folder -> check -> start, check's errors
// naming file, section and key with exit code 2, --version and per-command --help.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../bin/voidphone-relay.js');
const root = mkdtempSync(join(tmpdir(), 'voidphone-init-'));
const dir = join(root, 'relay'); // does not exist yet: init makes it
// A "public" IP from the benchmarking range: nothing is ever sent to it (the relay has no peers).
const PUBLIC_IP = '198.18.0.1';
let child: ChildProcess | undefined;

function relay(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A base port whose init ports (base+1..+4 on 0.0.0.0, +11..+15 and +80 on loopback) are free. */
async function freeBase(): Promise<number> {
  const m = /^(\d+)-(\d+)$/.exec(process.env.VOIDPHONE_PORT_RANGE ?? '') ?? [0, '20000', '31000'];
  const [low, high] = [Number(m[1]), Number(m[2])];
  const offsets = [1, 2, 3, 4, 11, 12, 13, 14, 15, 80];
  const free = (port: number) =>
    new Promise<boolean>((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(port, '0.0.0.0', () => s.close(() => res(true)));
    });
  for (let tries = 0; tries < 50; tries++) {
    const base = low + Math.floor(Math.random() * (high - low - 100));
    const ok = await Promise.all(offsets.map((o) => free(base + o)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free ports');
}

afterAll(() => {
  child?.kill('SIGKILL');
});

describe('voidphone-relay init -> check -> start', () => {
  let base = 0;
  const ini = join(dir, 'relay.ini');

  it('init writes a 0600 hostkey and a commented config into an empty folder', async () => {
    base = await freeBase();
    const r = relay('init', '--dir', dir, '--public-ip', PUBLIC_IP, '--ports', String(base));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(statSync(join(dir, 'hostkey.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(ini).mode & 0o777).toBe(0o600);
    const text = readFileSync(ini, 'utf8');
    expect(text).toContain(`p2p_address = 0.0.0.0:${base + 3}`);
    expect(text).toContain(`p2p_advertise = ${PUBLIC_IP}`);
    expect(text).toMatch(/^#hops =$/m);
    const again = relay('init', '--dir', dir, '--public-ip', PUBLIC_IP, '--ports', String(base));
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/relay\.ini exists; refusing to overwrite/);
  }, 120_000);

  it('check accepts it', () => {
    const r = relay('check', '-c', ini);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${ini}: ok (gossip, nse, rps, onion, dht, bridge)\n`);
  });

  it('the relay starts from it and answers on its bridge', async () => {
    child = spawn(process.execPath, [BIN, '-c', ini, '--ready-json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: root,
    });
    const proc = child;
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    const ready = await new Promise<Record<string, unknown>>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`not ready in 60 s: ${err}`)), 60_000);
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.includes('"ready":true'));
        if (line) {
          clearTimeout(t);
          res(JSON.parse(line));
        }
      });
      proc.once('exit', (code) => rej(new Error(`exited ${code}: ${err}`)));
    });
    const listening = ready.listening as Record<string, Record<string, string>>;
    expect(listening.onion!.p2p).toBe(`0.0.0.0:${base + 3}`);
    expect(listening.bridge!.http).toBe(`127.0.0.1:${base + 80}`);
    const status = await new Promise<number>((res, rej) => {
      request({ host: '127.0.0.1', port: base + 80, path: '/', timeout: 10_000 }, (r) => {
        r.resume();
        res(r.statusCode ?? 0);
      })
        .on('error', rej)
        .end();
    });
    expect(status).toBeGreaterThan(0);
    const code = await new Promise<number | null>((res) => {
      proc.once('exit', res);
      proc.kill('SIGTERM');
    });
    expect(code).toBe(0);
    child = undefined;
  }, 90_000);

  const broken: [string, (t: string) => string, RegExp][] = [
    [
      'an out-of-range value',
      (t) => t.replace('#hops =', 'hops = 1'),
      /broken\.ini: \[onion\] hops: 1 is out of range/,
    ],
    [
      'an unspecified advertised address',
      (t) => t.replace(/(\[dht\][^[]*?)p2p_advertise = [\d.]+/, '$1p2p_advertise = 0.0.0.0'),
      /broken\.ini: \[dht\] p2p_advertise: 0\.0\.0\.0 is no address peers can reach/,
    ],
    [
      'a missing required key',
      (t) => t.replace(/(\[gossip\][^[]*?)api_address = [\d.:]+/, '$1'),
      /broken\.ini: \[gossip\] api_address: missing/,
    ],
    [
      'a bad boolean',
      (t) => t.replace('#cover_tunnel =', 'cover_tunnel = maybe'),
      /\[onion\] cover_tunnel: "maybe" is not a boolean/,
    ],
  ];
  for (const [what, edit, error] of broken) {
    it(`check reports ${what} with file, section and key, exit 2`, () => {
      const bad = join(root, 'broken.ini');
      writeFileSync(
        bad,
        edit(readFileSync(ini, 'utf8')).replace(
          'hostkey = hostkey.pem',
          `hostkey = ${join(dir, 'hostkey.pem')}`,
        ),
      );
      const r = relay('check', '-c', bad);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(error);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    });
  }

  it('check warns about unknown and deprecated keys but accepts them', () => {
    const odd = join(root, 'odd.ini');
    const text = readFileSync(ini, 'utf8')
      .replace('hostkey = hostkey.pem', `hostkey = ${join(dir, 'hostkey.pem')}`)
      .replace('#degree =', 'degre = 9');
    writeFileSync(odd, text);
    const r = relay('check', '-c', odd);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning: .*odd\.ini: \[gossip\] unknown option\(s\) ignored: degre/);
  });
});

describe('init refuses what cannot work', () => {
  for (const [args, error] of [
    [[], /init needs --public-ip/],
    [['--public-ip', '0.0.0.0'], /--public-ip: 0\.0\.0\.0 is no address peers can reach/],
    [['--public-ip', 'relay.example.org'], /--public-ip: "relay\.example\.org" is not an IP address/],
    [
      ['--public-ip', '127.0.0.1'],
      /\[gossip\] p2p_advertise: advertises loopback 127\.0\.0\.1 while bound to 0\.0\.0\.0/,
    ],
    [['--public-ip', PUBLIC_IP, '--ports', '6000,web=80'], /--ports: "web=80" is not NAME=PORT/],
  ] as [string[], RegExp][]) {
    it(args.join(' ') || 'no --public-ip', () => {
      const d = mkdtempSync(join(tmpdir(), 'voidphone-init-bad-'));
      const r = relay('init', '--dir', d, ...args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(error);
      expect(() => statSync(join(d, 'hostkey.pem'))).toThrow(); // nothing written
    });
  }
});

describe('--version and --help', () => {
  it('prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = relay(flag);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`voidphone-relay ${pkg.version}\n`);
    }
  });

  it('has help for each command', () => {
    for (const [cmd, first] of [
      ['init', 'voidphone-relay init --public-ip IP'],
      ['check', 'voidphone-relay check -c FILE'],
      ['keygen', 'voidphone-relay keygen --out FILE'],
      ['identity', 'voidphone-relay identity -c FILE'],
    ]) {
      const r = relay(cmd!, '--help');
      expect(r.code).toBe(0);
      expect(r.out.startsWith(first!)).toBe(true);
    }
  });
});
