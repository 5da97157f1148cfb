// Shared by the NSE testnet tests: a testnet of Gossip + NSE with short rounds, raw and typed QUERYs,
// and waits on the overlay and on round boundaries.
import { connect } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import type { GossipModule } from '../../relay/gossip/index.ts';
import type { Logger } from '../../relay/log.ts';
import type { NseModule } from '../../relay/nse/index.ts';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';
import { parseAddress } from '../../shared/address.ts';
import type { NseEstimate } from '../../shared/wire/types.ts';

/**
 * The file's testnet: started before its tests, with the reply to a QUERY sent right after start
 * (the first ESTIMATE must come at once), and stopped after them.
 */
export function useNseTestnet(n: number, roundMs: number, log: Logger) {
  const ctx = {} as { net: Testnet; firstReply: Buffer };
  beforeAll(async () => {
    ctx.net = await startNseTestnet(n, roundMs, log);
    ctx.firstReply = await rawQuery(ctx.net.relays[n - 1]!.api.nse!);
  });
  afterAll(async () => {
    await ctx.net?.stop();
  });
  return ctx;
}

/** N relays running the real Gossip and NSE; cheap proofs of work, `roundMs` rounds, 16 in the history. */
export async function startNseTestnet(n: number, roundMs: number, log: Logger): Promise<Testnet> {
  const opts = {
    relays: n,
    only: ['gossip', 'nse'],
    set: {
      'nse.round_seconds': String(roundMs / 1000),
      'nse.pow_bits': '8',
      'nse.history_rounds': '16',
      'gossip.pow_bits': '4',
    },
    log,
  };
  // startTestnet retries a port taken between its probe and the bind, but two big testnets starting
  // in parallel test files at the same moment can take each other's ports on every retry: back off.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTestnet(opts);
    } catch (e) {
      if (attempt >= 4 || !/EADDRINUSE/.test(String((e as Error)?.message))) throw e;
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 2000));
    }
  }
}

/** The clock-skew allowance NSE uses by default for rounds this short (a quarter round, at most 2 s). */
export const skewOf = (roundMs: number) => Math.min(2000, Math.floor(roundMs / 4));

/** QUERY on a fresh socket; resolves with the first 12 bytes that come back. */
export function rawQuery(address: string): Promise<Buffer> {
  const { host, port } = parseAddress(address);
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => reject(new Error('no ESTIMATE')), 5000);
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 12) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf);
      }
    });
    sock.write(Uint8Array.of(0, 4, 0x02, 0x08));
  });
}

export function estimates(net: Testnet): Promise<NseEstimate[]> {
  return Promise.all(
    net.relays.map(async (r) => {
      const c = await ApiClient.connect(r.api.nse!);
      try {
        return await c.request({ type: 520 }, 521, 5000);
      } finally {
        c.close();
      }
    }),
  );
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const moduleOf = <T>(net: Testnet, i: number, name: string) =>
  net.relays[i]!.modules().find((m) => m.name === name) as T | undefined;

/** Rounds in each relay's history (in-process testnets only). */
export const historySizes = (net: Testnet) =>
  net.relays.map((_, i) => moduleOf<NseModule>(net, i, 'nse')?.engine.history.size ?? 0);

/** Claims all relays have flooded so far (in-process testnets only). */
export const claimsSent = (net: Testnet) =>
  net.relays.reduce((sum, _, i) => sum + (moduleOf<NseModule>(net, i, 'nse')?.engine.claimsSent ?? 0), 0);

/**
 * Until every relay's Gossip has `min` neighbours: the overlay is up. With 60 relays in one process,
 * the ~500 link handshakes (RSA-4096 each way) take several seconds of CPU; rounds before that are
 * rounds of a network still forming.
 */
export async function overlayUp(net: Testnet, min: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  const degrees = () =>
    net.relays.map((_, i) => moduleOf<GossipModule>(net, i, 'gossip')?.membership.neighbours.size ?? 0);
  while (Math.min(...degrees()) < min) {
    if (Date.now() > until) throw new Error(`overlay not up in time: neighbours ${degrees().join(' ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Until `rounds` full rounds that start after now have closed (at round end + skew, plus a margin). */
export function afterRounds(rounds: number, roundMs: number): Promise<void> {
  const next = Math.ceil(Date.now() / roundMs) * roundMs;
  const closed = next + rounds * roundMs + skewOf(roundMs) + 300;
  return new Promise((r) => setTimeout(r, closed - Date.now()));
}
