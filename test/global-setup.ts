// Before any test file runs: make sure the shared key pool exists, so test files running in
// parallel don't each generate the same RSA-4096 keys.
import { getKeys } from './keypool.ts';

export const TEST_KEY_COUNT = Number(process.env.VOIDPHONE_TEST_KEYS ?? 32);

export default async function setup(): Promise<void> {
  const started = Date.now();
  await getKeys(TEST_KEY_COUNT);
  const ms = Date.now() - started;
  if (ms > 1000)
    console.log(`key pool: ${TEST_KEY_COUNT} RSA-4096 hostkeys ready in ${(ms / 1000).toFixed(1)} s`);
}
