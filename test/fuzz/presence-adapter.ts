// The one place the fuzzer touches the presence record: seal a few valid records and open any bytes.
import { openPresence, sealPresence } from '../../client/src/lib/presence/record.ts';

export interface PresenceFuzz {
  seeds: Uint8Array[];
  /** Must never throw (it answers { ok: false } for anything bad). */
  open(data: Uint8Array): Promise<unknown>;
}

export async function presenceFuzz(
  spki: Uint8Array,
  sign: (data: Uint8Array) => Promise<Uint8Array>,
): Promise<PresenceFuzz> {
  // Records are sealed under a presence secret only friends hold; the fuzzer is such a friend.
  const secret = new Uint8Array(32).fill(7);
  const roundMs = 60_000;
  const now = Date.now();
  const round = Math.floor(now / roundMs);
  const seeds = [
    await sealPresence(secret, { round, timestamp: now, host: '192.0.2.1', port: 6001 }, sign),
    await sealPresence(secret, { round, timestamp: now, host: '2001:db8::1', port: 443 }, sign),
  ];
  return { seeds, open: (data) => openPresence(data, secret, spki, now, roundMs) };
}
