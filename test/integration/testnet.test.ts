// voidphone-testnet as a person runs it: 10 relays, one per process, ready JSON, clean SIGTERM.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getKeys, KEY_DIR } from '../keypool.ts';

const BIN = join(import.meta.dirname, '../../bin/voidphone-testnet.js');

function processesUsing(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', dir], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('voidphone-testnet', () => {
  it('starts 10 relays, prints one ready line, and leaves no process behind on SIGTERM', async () => {
    await getKeys(10);
    const dir = mkdtempSync(join(tmpdir(), 'voidphone-tn-'));
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, '--relays', '10', '--keys', KEY_DIR, '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`not ready in 60 s\n${stderr.slice(-2000)}`)), 60_000);
      child.stdout.on('data', (d) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, nl));
        }
      });
      child.once('exit', (code) => reject(new Error(`testnet exited ${code}\n${stderr.slice(-2000)}`)));
    });
    const readyMs = Date.now() - started;
    const ready = JSON.parse(line) as {
      ready: boolean;
      relays: { config: string; identity: string; api: object }[];
    };
    expect(ready.ready).toBe(true);
    expect(ready.relays).toHaveLength(10);
    expect(new Set(ready.relays.map((r) => r.identity)).size).toBe(10);
    for (const r of ready.relays) expect(r.identity).toMatch(/^[0-9a-f]{64}$/);
    expect(processesUsing(dir).length).toBeGreaterThanOrEqual(10);
    console.log(`testnet of 10 relays ready in ${readyMs} ms`);

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(processesUsing(dir)).toEqual([]);
  }, 90_000);
});
