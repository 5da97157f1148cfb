// The relay as systemd's hardened unit runs it (contrib/voidphone-relay.service), emulated because
// systemd is not PID 1 here: an unprivileged uid (setpriv, as DynamicUser=), no new privileges, the
// install read-only to it (this checkout and node_modules are root's, 0755), and one writable state
// folder (StateDirectory=) holding the hostkey and config that `init` made as that user. The
// launcher must not write into the install: it runs a prebuilt bundle, or builds one in systemd's
// $CACHE_DIRECTORY, or runs through tsx without a disk cache.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/voidphone-relay.js');
const NOBODY = 65534;
const root = process.getuid?.() === 0;
const setpriv = spawnSync('setpriv', ['--version']).status === 0;
const state = mkdtempSync(join(tmpdir(), 'voidphone-state-'));
let base = 0;
const running = new Set<ChildProcess>();

/** As the unit runs it: uid/gid nobody, no supplementary groups, no new privileges. */
function asService(args: string[], env: Record<string, string> = {}) {
  const cmd = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--no-new-privs'];
  return {
    cmd: [...cmd, process.execPath, BIN, ...args],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state, TMPDIR: join(state, 'tmp'), ...env },
  };
}

/** Whether dist/relay/relay.mjs is newer than every source (the launcher's own test). */
function prebuiltFresh(): boolean {
  const code = `import('${join(REPO, 'bin/bundle-relay.js')}').then((m) => console.log(m.fresh(m.PREBUILT)))`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  return r.stdout.trim() === 'true';
}

async function freeBase(): Promise<number> {
  const m = /^(\d+)-(\d+)$/.exec(process.env.VOIDPHONE_PORT_RANGE ?? '') ?? [0, '20000', '31000'];
  const [low, high] = [Number(m[1]), Number(m[2])];
  const free = (port: number) =>
    new Promise<boolean>((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(port, '0.0.0.0', () => s.close(() => res(true)));
    });
  for (let tries = 0; tries < 50; tries++) {
    const b = low + Math.floor(Math.random() * (high - low - 100));
    const ok = await Promise.all([1, 2, 3, 4, 11, 12, 13, 14, 15, 80].map((o) => free(b + o)));
    if (ok.every(Boolean)) return b;
  }
  throw new Error('no free ports');
}

/** Starts the relay as the service user; resolves with its stderr once it is ready. */
async function startService(env: Record<string, string>): Promise<{ proc: ChildProcess; err: () => string }> {
  const s = asService(['-c', join(state, 'relay.ini'), '--ready-json'], env);
  const proc = spawn('setpriv', s.cmd, { env: s.env, cwd: state, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`not ready in 90 s: ${err}`)), 90_000);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"ready":true')) {
        clearTimeout(t);
        res();
      }
    });
    proc.once('exit', (code) => rej(new Error(`exited ${code}: ${err}`)));
  });
  return { proc, err: () => err };
}

async function stopService(proc: ChildProcess): Promise<number | null> {
  const code = await new Promise<number | null>((res) => {
    proc.once('exit', res);
    proc.kill('SIGTERM');
  });
  running.delete(proc);
  return code;
}

function httpStatus(port: number): Promise<number> {
  return new Promise((res, rej) => {
    request({ host: '127.0.0.1', port, path: '/', timeout: 10_000 }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    })
      .on('error', rej)
      .end();
  });
}

describe.skipIf(!root || !setpriv)('relay under the unit hardening (uid nobody, read-only install)', () => {
  beforeAll(async () => {
    chownSync(state, NOBODY, NOBODY);
    for (const d of ['tmp', 'cache']) {
      mkdirSync(join(state, d), { mode: 0o700 });
      chownSync(join(state, d), NOBODY, NOBODY);
    }
    base = await freeBase();
  });

  afterAll(() => {
    for (const p of running) p.kill('SIGKILL');
    rmSync(state, { recursive: true, force: true });
  });

  it('the install is read-only to the service user', () => {
    const s = asService([]);
    const probe = spawnSync('setpriv', [...s.cmd.slice(0, 5), 'touch', join(REPO, 'node_modules/.probe')], {
      env: s.env,
    });
    expect(probe.status).not.toBe(0);
  });

  it('init writes hostkey and config into the state folder as the service user', () => {
    const s = asService(['init', '--dir', state, '--public-ip', '198.18.0.1', '--ports', String(base)]);
    const r = spawnSync('setpriv', s.cmd, { env: s.env, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).not.toMatch(/error|fail/i);
    expect(r.status).toBe(0);
    const c = asService(['check', '-c', join(state, 'relay.ini')]);
    const check = spawnSync('setpriv', c.cmd, { env: c.env, encoding: 'utf8', timeout: 60_000 });
    expect(check.status).toBe(0);
  }, 150_000);

  it('with systemd CacheDirectory: builds its bundle there, starts, answers, stops cleanly', async () => {
    const cache = join(state, 'cache');
    // A prebuilt bundle newer than the sources (left by the last test of an earlier run) is used
    // instead: then nothing is written at all. (Not deleted here: other tests' relays may run it.)
    const prebuilt = prebuiltFresh();
    const { proc, err } = await startService({ CACHE_DIRECTORY: cache });
    expect(await httpStatus(base + 80)).toBeGreaterThan(0);
    expect(err()).not.toMatch(/bundling failed|running through tsx/);
    expect(readdirSync(cache).filter((f) => f.endsWith('.mjs'))).toHaveLength(prebuilt ? 0 : 1);
    expect(await stopService(proc)).toBe(0);
  }, 120_000);

  it('with no writable cache at all: runs through tsx, writing nothing, not even in $TMPDIR', async () => {
    const { proc, err } = await startService({});
    expect(await httpStatus(base + 80)).toBeGreaterThan(0);
    expect(err()).not.toMatch(/bundling failed/);
    expect(readdirSync(join(state, 'tmp'))).toEqual([]);
    expect(await stopService(proc)).toBe(0);
  }, 120_000);

  it('with a prebuilt bundle (npm run build:relay): runs it, no cache needed', async () => {
    // Written by rename: relays of other tests starting meanwhile see the old file or the new one.
    const build = spawnSync(process.execPath, [join(REPO, 'bin/bundle-relay.js')], { encoding: 'utf8' });
    expect(build.status).toBe(0);
    expect(existsSync(join(REPO, 'dist/relay/relay.mjs'))).toBe(true);
    expect(prebuiltFresh()).toBe(true);
    const { proc, err } = await startService({});
    expect(err()).not.toMatch(/running through tsx/);
    expect(await httpStatus(base + 80)).toBeGreaterThan(0);
    expect(await stopService(proc)).toBe(0);
  }, 120_000);
});

const UNIT = join(REPO, 'contrib/voidphone-relay.service');
const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('contrib/voidphone-relay.service', () => {
  const text = readFileSync(UNIT, 'utf8');
  const directives = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) directives.set(m[1]!, [...(directives.get(m[1]!) ?? []), m[2]!]);
  }
  const one = (key: string) => directives.get(key)?.[0];

  it.skipIf(!analyze)('passes systemd-analyze verify', () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('has the hardening the emulated run above stands for', () => {
    expect(one('DynamicUser')).toBe('yes'); // uid nobody above
    expect(one('NoNewPrivileges')).toBe('yes'); // setpriv --no-new-privs
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('ProtectSystem')).toBe('strict'); // the install is read-only
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes'); // TMPDIR: a private folder
    expect(one('StateDirectory')).toBe('voidphone-relay'); // the one writable folder
    expect(one('CacheDirectory')).toBe('voidphone-relay'); // $CACHE_DIRECTORY above
    expect(one('Restart')).toBe('on-failure');
    expect(one('RestartPreventExitStatus')).toBe('2'); // config errors need the operator
    expect(Number(one('LimitNOFILE'))).toBeGreaterThanOrEqual(65536);
    // The same commands as above: check, then the relay on the state folder's config.
    expect(one('ExecStartPre')).toMatch(/bin\/voidphone-relay\.js check -c %S\/voidphone-relay\/relay\.ini$/);
    expect(one('ExecStart')).toMatch(/bin\/voidphone-relay\.js -c %S\/voidphone-relay\/relay\.ini$/);
  });

  it.skipIf(!analyze)('systemd-analyze security rates its exposure low', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', UNIT], { encoding: 'utf8' });
    const m = /Overall exposure level for .*: (\d+\.\d+)/.exec(r.stdout + r.stderr);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.5);
  });
});
