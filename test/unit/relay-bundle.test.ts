// The relay bundle (bin/bundle-relay.js) is ASCII only: V8 holds a module's source in the heap at two
// bytes per character as soon as one character is beyond Latin-1 (one '…' in a comment cost every
// relay 0.9 MB of heap).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'relay-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('bundles the relay as ASCII only', async () => {
  const url = pathToFileURL(join(import.meta.dirname, '../../bin/bundle-relay.js')).href;
  const { bundle } = (await import(url)) as { bundle(out: string): Promise<void> };
  const out = join(dir, 'relay.mjs');
  await bundle(out);
  const text = readFileSync(out, 'utf8');
  expect(text.length).toBeGreaterThan(100_000);
  expect(text.match(/[^\x00-\x7f]/g) ?? []).toEqual([]);
});
