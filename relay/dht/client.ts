// Small helpers over the API client for DHT callers (tests, benchmarks, other tools): GET that
// resolves with the value or undefined (FAILURE), never hanging past its timeout.
import type { ApiClient } from '../api/client.ts';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b);

export function dhtGet(
  client: ApiClient,
  key: Uint8Array,
  timeoutMs = 15_000,
): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      off();
      offClose();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`DHT GET: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.onMessage((m) => {
      if ((m.type !== 652 && m.type !== 653) || !same(m.key, key)) return;
      cleanup();
      resolve(m.type === 652 ? m.value : undefined);
    });
    const offClose = client.onClose((r) => {
      cleanup();
      reject(new Error(`DHT GET: connection closed (${r})`));
    });
    client.send({ type: 651, key });
  });
}

/** GET repeatedly until a value arrives (a PUT has no reply, so callers poll), up to `tries`. */
export async function dhtGetEventually(
  client: ApiClient,
  key: Uint8Array,
  tries = 50,
  pauseMs = 100,
): Promise<Uint8Array | undefined> {
  for (let i = 0; i < tries; i++) {
    const v = await dhtGet(client, key);
    if (v) return v;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  return undefined;
}
