// The relay CLI as an operator meets it: help, keygen, identity, and one-line config errors (exit 2).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../shared/identity.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { getKeys } from '../keypool.ts';

const BIN = join(import.meta.dirname, '../../bin/voidphone-relay.js');
const dir = mkdtempSync(join(tmpdir(), 'voidphone-cli-'));

function relay(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function config(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('voidphone-relay CLI', () => {
  it('prints help', () => {
    const r = relay('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('voidphone-relay -c relay.ini');
  });

  it('keygen writes a 0600 RSA-4096 key and refuses to overwrite it', () => {
    const out = join(dir, 'new.pem');
    const r = relay('keygen', '--out', out);
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const again = relay('keygen', '--out', out);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/refusing to overwrite/);
  }, 60_000);

  it('identity prints SHA-256 of the SPKI DER as 64 hex characters', async () => {
    const [key] = await getKeys(1);
    const ini = config('id.ini', `hostkey = ${key}\n[gossip]\napi_address = 127.0.0.1:1\n`);
    const r = relay('identity', '-c', ini);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(toHex((await loadHostkey(key!)).identity));
    expect(r.out.trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  const cases: [string, () => Promise<string> | string, RegExp][] = [
    ['missing file', () => join(dir, 'nope.ini'), /nope\.ini: cannot read config file \(ENOENT\)/],
    [
      'missing hostkey option',
      () => config('nohk.ini', '[gossip]\napi_address = 127.0.0.1:1\n'),
      /hostkey: missing/,
    ],
    [
      'unreadable hostkey',
      () =>
        config('badhk.ini', `hostkey = ${join(dir, 'absent.pem')}\n[gossip]\napi_address = 127.0.0.1:1\n`),
      /hostkey: cannot read .*absent\.pem \(ENOENT\)/,
    ],
    [
      'hostkey that is not a key',
      () => {
        writeFileSync(join(dir, 'junk.pem'), 'not a key');
        return config('junk.ini', `hostkey = junk.pem\n[gossip]\napi_address = 127.0.0.1:1\n`);
      },
      /hostkey: not a usable RSA private key/,
    ],
    [
      'bad address',
      async () =>
        config('addr.ini', `hostkey = ${(await getKeys(1))[0]}\n[gossip]\napi_address = 127.0.0.1:99999\n`),
      /\[gossip\] api_address: bad address "127\.0\.0\.1:99999"/,
    ],
    [
      'missing api_address',
      async () => config('noapi.ini', `hostkey = ${(await getKeys(1))[0]}\n[gossip]\ndegree = 4\n`),
      /\[gossip\] api_address: missing/,
    ],
  ];
  for (const [name, make, pattern] of cases) {
    it(`config error: ${name} → exit 2, one line naming the key`, async () => {
      const r = relay('-c', await make());
      expect(r.code).toBe(2);
      expect(r.err).toMatch(pattern);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it('unknown flag → exit 2', () => {
    const r = relay('--frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/see --help/);
  });
});
