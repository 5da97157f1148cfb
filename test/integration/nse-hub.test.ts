// Real NSE modules in 60 in-process relays, with a stand-in Gossip (the spec's seam): one fake Gossip
// API server per relay at its [gossip] api_address, all joined into a perfect broadcast (60 real Gossip
// modules in one process on two shared cores are too slow for short rounds; nse-testnet.test.ts runs
// the real Gossip with N = 20). Checks the API right after start and convergence after 16 rounds.
import { afterAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../relay/api/server.ts';
import type { ApiConnection } from '../../relay/api/types.ts';
import { ApiClient } from '../../relay/api/client.ts';
import { createLogger } from '../../relay/log.ts';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';
import { parseAddress } from '../../shared/address.ts';
import { rawQuery } from './nse-support.ts';

const log = createLogger('nse-hub', 'warn');
const ROUND_MS = 2000;
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

/** Every ANNOUNCE goes to every other subscriber as a NOTIFICATION; VALIDATIONs are counted. */
async function startHub(addresses: string[]) {
  const subscribers = new Map<ApiConnection, Set<number>>();
  const validations = { valid: 0, invalid: 0 };
  let nextId = 0;
  const servers: ApiServer[] = [];
  for (const a of addresses) {
    servers.push(
      await startApiServer({
        module: 'gossip',
        address: parseAddress(a),
        log,
        handler: {
          accepts: new Set([500, 501, 503]),
          onDisconnect: (c) => subscribers.delete(c),
          onMessage: (from, m) => {
            if (m.type === 501) subscribers.set(from, (subscribers.get(from) ?? new Set()).add(m.dataType));
            if (m.type === 503) validations[m.valid ? 'valid' : 'invalid']++;
            if (m.type !== 500) return;
            for (const [c, types] of subscribers) {
              if (c === from || !types.has(m.dataType)) continue;
              nextId = (nextId + 1) & 0xffff;
              c.send({ type: 502, messageId: nextId, dataType: m.dataType, data: m.data });
            }
          },
        },
      }),
    );
  }
  return { validations, stop: () => Promise.all(servers.map((s) => s.close())).then(() => undefined) };
}

async function network(n: number): Promise<{ net: Testnet; hub: Awaited<ReturnType<typeof startHub>> }> {
  const net = await startTestnet({
    relays: n,
    only: ['nse'],
    set: { 'nse.round_seconds': String(ROUND_MS / 1000), 'nse.pow_bits': '8', 'nse.history_rounds': '16' },
    log,
  });
  stops.push(() => net.stop());
  const hub = await startHub(net.relays.map((r) => r.api.gossip!));
  stops.push(hub.stop);
  return { net, hub };
}

async function estimates(net: Testnet) {
  return Promise.all(
    net.relays.map(async (r) => {
      const c = await ApiClient.connect(r.api.nse!);
      const e = await c.request({ type: 520 }, 521, 5000);
      c.close();
      return e;
    }),
  );
}

/** Wait for `rounds` full rounds after the next round boundary (the first, partial round never counts). */
function afterRounds(rounds: number): Promise<void> {
  const next = Math.ceil(Date.now() / ROUND_MS) * ROUND_MS;
  return new Promise((r) => setTimeout(r, next + rounds * ROUND_MS + 400 - Date.now()));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function converges(n: number) {
  const { net, hub } = await network(n);
  const raw = await rawQuery(net.relays[n - 1]!.api.nse!);
  expect(raw.length).toBe(12);
  expect([...raw.subarray(0, 4)]).toEqual([0, 12, 0x02, 0x09]);
  // 16 rounds plus a few: the cold-start rounds (everyone sends at once) leave the history first.
  await afterRounds(20);
  const es = await estimates(net);
  const m = median(es.map((e) => e.estimate));
  expect(m).toBeGreaterThanOrEqual(n / 2);
  expect(m).toBeLessThanOrEqual(n * 2);
  // With 16 rounds in the history, the per-round estimates spread: the deviation is reported.
  expect(median(es.map((e) => e.deviation))).toBeGreaterThan(0);
  expect(hub.validations.valid).toBeGreaterThan(0);
  log.warn(`N=${n}: median estimate ${m}, deviations median ${median(es.map((e) => e.deviation))}`);
}

describe('NSE on relays over a broadcast Gossip stand-in', () => {
  it('N = 60: one ESTIMATE at once after start, within a factor of 2 after 16 rounds', async () => {
    await converges(60);
  }, 90_000);
});
