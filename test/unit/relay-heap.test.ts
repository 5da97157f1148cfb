// The relay fixes V8's young generation at its starting size (relay/heap.ts): a child process
// allocates objects that survive scavenges, the pattern that made V8 grow new space 1 -> 16 MB
// semi-spaces in the soak. The control (same child, not fixed) shows the pattern does grow it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'vp-heap-'));
const script = join(dir, 'child.mts');
writeFileSync(
  script,
  `import { fixYoungGeneration, youngGenerationBytes } from ${JSON.stringify(join(REPO, 'relay/heap.ts'))};
if (process.argv[2] === 'fix') fixYoungGeneration();
const before = youngGenerationBytes();
const ring = new Array(100_000);
for (let i = 0; i < 5_000_000; i++) ring[i % ring.length] = { i, s: 'x' + i };
console.log(JSON.stringify({ before, after: youngGenerationBytes() }));
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function young(mode: string): { before: number; after: number } {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/run-ts.js'), script, mode], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim());
}

describe('relay heap', () => {
  it('keeps the young generation at its starting size under surviving allocations', () => {
    const grown = young('default');
    const fixed = young('fix');
    expect(grown.after).toBeGreaterThan(4 * grown.before);
    expect(fixed.after).toBeLessThanOrEqual(fixed.before * 2);
    expect(fixed.after).toBeLessThan(grown.after / 4);
  }, 120_000);
});
