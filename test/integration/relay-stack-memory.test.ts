// A relay's first stack trace must not cost it megabytes for good. With source maps on at run time,
// node decoded the bundle's map the first time it formatted a stack through relay code: +6.8 MB of
// heap for the rest of the process's life (the hour-long soak's heap "growth", issue 19). The bundle
// now keeps its map in a file that only NODE_OPTIONS=--enable-source-maps loads.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';
import { waitFor } from './onion-support.ts';

const PROBE = fileURLToPath(new URL('./stack-probe.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'stack-probe-'));
let net: Testnet | undefined;
afterAll(async () => {
  await net?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('formats a stack trace through relay code without growing the heap by megabytes', async () => {
  const out = join(dir, 'probe.json');
  const saved = { opts: process.env.NODE_OPTIONS, out: process.env.STACK_PROBE_OUT };
  process.env.NODE_OPTIONS = `--expose-gc --import=${PROBE}`;
  process.env.STACK_PROBE_OUT = out;
  try {
    net = await startTestnet({ relays: 1, mode: 'processes', only: ['onion'], dir: join(dir, 'net') });
  } finally {
    for (const [k, v] of [
      ['NODE_OPTIONS', saved.opts],
      ['STACK_PROBE_OUT', saved.out],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  await waitFor(() => existsSync(out), 20_000, 'the probe in the relay');
  const r = JSON.parse(readFileSync(out, 'utf8')) as { before: number; after: number; stack: string };
  expect(r.stack).toMatch(/voidphone|relay\//); // a frame of the relay's own code
  const grewMb = (r.after - r.before) / 1e6;
  expect(grewMb).toBeLessThan(1); // old code: 6.8 MB
});
