// A folder of reusable RSA-4096 hostkeys (key-<i>.pem) for testnets, tests and benchmarks:
// generating one costs about 3 s of one core, so missing keys are generated in parallel, once.
import { existsSync, mkdirSync } from 'node:fs';
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { generateHostkeyPem } from '../hostkey.ts';

export const DEFAULT_KEY_DIR = '.keys/pool';

export async function ensureKeys(
  dir: string,
  n: number,
  onProgress?: (made: number, missing: number) => void,
): Promise<string[]> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = Array.from({ length: n }, (_, i) => join(dir, `key-${i}.pem`));
  const missing = paths.filter((p) => !existsSync(p));
  let made = 0;
  // node's generateKeyPair runs on the libuv thread pool, so these proceed in parallel on all cores.
  await Promise.all(
    missing.map(async (p) => {
      const pem = await generateHostkeyPem(4096);
      const tmp = `${p}.${process.pid}.tmp`;
      await writeFile(tmp, pem, { mode: 0o600 });
      await rename(tmp, p); // atomic: a concurrent run never sees half a key
      onProgress?.(++made, missing.length);
    }),
  );
  return paths;
}
