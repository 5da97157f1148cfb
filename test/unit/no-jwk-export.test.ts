// Guards the fix in relay/x25519.ts: on Node 20, exporting a key made by generateKeyPair(Sync) as JWK
// can deadlock the process forever (a GC during the export runs the key job's destructor, which waits
// for the lock the export holds). A loop of the two hangs within 50,000 keys on our machines, so no
// test could catch it by running it; this one makes sure no relay or shared code exports keys as JWK.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

it('no relay or shared code exports a key as JWK', () => {
  const offenders = sources('relay')
    .concat(sources('shared'))
    .filter((f) => /\.export\(\s*\{[^}]*format:\s*'jwk'/s.test(readFileSync(join(ROOT, f), 'utf8')));
  expect(offenders).toEqual([]);
});
