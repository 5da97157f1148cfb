// A testnet whose RPS modules the test starts itself (honest or attacker), so a test can stop,
// restart and replace them. With gossip: true the testnet runs Gossip (and NSE if built) and RPS
// learns peers from announcements; otherwise every RPS bootstraps from relay 0's RPS P2P port.
import { loadConfig } from '../../relay/config.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { readRpsOptions } from '../../relay/rps/config.ts';
import { RpsRelay } from '../../relay/rps/rounds.ts';
import { type RelayClass, type RpsModule, startRps } from '../../relay/rps/service.ts';
import { parseAddress } from '../../shared/address.ts';
import { identityOf, toHex } from '../../shared/identity.ts';
import type { RpsPeer } from '../../shared/wire/types.ts';
import { ApiClient } from '../../relay/api/client.ts';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';

/** Short intervals for tests; cheap PoW. */
export const FAST: Record<string, string> = {
  'rps.round_interval': '0.5',
  'rps.announce_interval': '5',
  'rps.probe_timeout': '2',
  'rps.tombstone_ttl': '5',
  'rps.pow_bits': '4',
  'rps.save_interval': '2',
};

export interface RpsNet {
  net: Testnet;
  rps: (RpsModule | undefined)[];
  identities: string[];
  /** Start relay i's RPS; bootstrap: false starts it with nothing but its store. */
  start(i: number, Relay?: RelayClass, bootstrap?: boolean): Promise<RpsModule>;
  stop(i: number): Promise<void>;
  query(i: number, n: number, timeoutMs?: number): Promise<RpsPeer[]>;
  close(): Promise<void>;
}

export interface RpsNetOptions {
  relays: number;
  set?: Record<string, string>;
  gossip?: boolean;
  /** Also run NSE (with cheap PoW); otherwise RPS uses default_size. */
  nse?: boolean;
  /** Start no RPS yet (the test starts them). */
  defer?: boolean;
  /** Relay class per index (attackers); default honest. */
  classFor?: (i: number) => RelayClass | undefined;
}

export async function startRpsNet(o: RpsNetOptions): Promise<RpsNet> {
  const log = createLogger('rps-test');
  const net = await startTestnet({
    relays: o.relays,
    set: { ...FAST, 'gossip.pow_bits': '4', 'nse.pow_bits': '4', ...o.set },
    only: o.gossip ? (o.nse ? ['gossip', 'nse'] : ['gossip']) : [],
    log,
  });
  const rps: (RpsModule | undefined)[] = new Array(o.relays).fill(undefined);
  const identities = net.relays.map((r) => r.identity);
  const self: RpsNet = {
    net,
    rps,
    identities,
    async start(i, Relay, bootstrap = true) {
      const r = net.relays[i]!;
      const opts = readRpsOptions(loadConfig(r.config));
      // The testnet config names relays 0 and 1 as bootstrappers; these tests choose for themselves.
      opts.bootstrappers = [];
      if (!o.gossip && i !== 0 && bootstrap) opts.bootstrappers = [parseAddress(net.relays[0]!.p2p.rps!)];
      if (!o.gossip) opts.gossipApi = undefined;
      const hostkey = await loadHostkey(r.hostkeyPath);
      const m = await startRps(
        { opts, hostkey, log: log.child(`r${i}`) },
        Relay ?? o.classFor?.(i) ?? RpsRelay,
      );
      rps[i] = m;
      return m;
    },
    async stop(i) {
      const m = rps[i];
      rps[i] = undefined;
      await m?.stop();
    },
    async query(i, n, timeoutMs = 10_000) {
      const c = await ApiClient.connect(net.relays[i]!.api.rps!, { timeoutMs });
      try {
        // Pipelined in batches below max_pending_queries; replies come in query order.
        const all: RpsPeer[] = [];
        for (let k = 0; k < n; k += 32) {
          const batch = Math.min(32, n - k);
          const got: RpsPeer[] = [];
          const done = new Promise<void>((resolve, reject) => {
            const off = c.onMessage((m) => {
              if (m.type !== 541) return;
              got.push(m);
              if (got.length === batch) {
                off();
                resolve();
              }
            });
            c.onClose((why) => reject(new Error(`RPS API closed: ${why}`)));
            setTimeout(
              () => reject(new Error(`RPS answers: ${got.length}/${batch} in ${timeoutMs} ms`)),
              timeoutMs,
            );
          });
          for (let q = 0; q < batch; q++) c.send({ type: 540 });
          await done;
          all.push(...got);
        }
        return all;
      } finally {
        c.close();
      }
    },
    async close() {
      await Promise.all(rps.map((_, i) => self.stop(i)));
      await net.stop();
    },
  };
  if (o.defer) return self;
  await self.start(0);
  await Promise.all(net.relays.slice(1).map((_, k) => self.start(k + 1)));
  return self;
}

/** Hex identity of an RPS PEER's hostkey. */
export function peerId(p: RpsPeer): string {
  return toHex(identityOf(p.hostkey));
}

/** Wait until `cond()` holds, polling every 50 ms; throws after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Attacker relay: pushes to every peer it knows each round, answers pulls with attackers only. */
export function attackerClass(isAttacker: (id: string) => boolean): RelayClass {
  return class Attacker extends RpsRelay {
    protected override pushTargets(): string[] {
      return [...this.peers.ids()];
    }
    protected override pullReplyRecords(): Uint8Array[] {
      const mine = [...this.peers.all()].filter((e) => isAttacker(e.record.id)).map((e) => e.record.bytes);
      return [this.freshOwn().bytes, ...mine];
    }
  };
}

/** ln Γ(x) (Lanczos). */
function lnGamma(x: number): number {
  const c = [
    76.18009172947146, -86.5053203294168, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2,
    -0.5395239384953e-5,
  ];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let ser = 1.000000000190015;
  for (const k of c) ser += k / ++y;
  return -tmp + Math.log((2.506628274631 * ser) / x);
}

/** Upper regularised incomplete gamma Q(a, x) (Numerical Recipes gammq). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const gln = lnGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let del = sum;
    for (let ap = a; Math.abs(del) > Math.abs(sum) * 1e-14; ) {
      del *= x / ++ap;
      sum += del;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - gln);
  }
  let b = x + 1 - a;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) break;
  }
  return Math.exp(-x + a * Math.log(x) - gln) * h;
}

/** Chi-square test of observed counts against expected counts: statistic, degrees of freedom, p. */
export function chiSquareTest(
  observed: number[],
  expected: number[],
): { chi2: number; df: number; p: number } {
  const chi2 = observed.reduce((a, o, i) => a + (o - expected[i]!) ** 2 / expected[i]!, 0);
  const df = observed.length - 1;
  return { chi2, df, p: gammaQ(df / 2, chi2 / 2) };
}

/**
 * Uniformity experiment: `perRelay` queries at each running relay; counts per returned relay and
 * the expectation if every answer were uniform over the other running relays.
 */
export async function uniformity(t: RpsNet, perRelay: number, among: number[]) {
  const index = new Map(among.map((i) => [t.identities[i]!, i]));
  const counts = new Map<number, number>(among.map((i) => [i, 0]));
  const expected = new Map<number, number>(among.map((i) => [i, 0]));
  let foreign = 0;
  await Promise.all(
    among.map(async (i) => {
      for (const p of await t.query(i, perRelay)) {
        const j = index.get(peerId(p));
        if (j === undefined || j === i) foreign++;
        else counts.set(j, counts.get(j)! + 1);
      }
      for (const j of among) if (j !== i) expected.set(j, expected.get(j)! + perRelay / (among.length - 1));
    }),
  );
  const test = chiSquareTest([...counts.values()], [...expected.values()]);
  return { ...test, counts, foreign, missing: [...counts].filter(([, c]) => c === 0).map(([i]) => i) };
}
