// Tests and benchmarks share one pool of RSA-4096 hostkeys under .keys/pool (gitignored).
import { fileURLToPath } from 'node:url';
import { ensureKeys } from '../relay/dev/keypool.ts';

export const KEY_DIR = fileURLToPath(new URL('../.keys/pool', import.meta.url));

/** Paths of n PEM hostkeys (key-0.pem ... key-(n-1).pem), generating missing ones in parallel. */
export function getKeys(n: number): Promise<string[]> {
  return ensureKeys(KEY_DIR, n);
}
