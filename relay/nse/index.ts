// The NSE module: network size estimation after GNUnet's NSE, on top of the Gossip API.
import { findPow } from '../p2p/pow.ts';
import { startApiServer } from '../api/server.ts';
import type { ModuleFactory, RelayModule } from '../module.ts';
import { NSE_DATA_TYPE } from './claim.ts';
import { readNseConfig } from './config.ts';
import { NseEngine } from './engine.ts';
import { GossipLink } from './gossip-link.ts';
import { nseApiHandler } from './service.ts';
import { counter, gauge } from '../metrics/samples.ts';
import { deltas, startStatusLog } from '../status.ts';
import { nseStatusLine } from './status.ts';

/** The running module; tests and benchmarks may look at the engine (history, stats). */
export interface NseModule extends RelayModule {
  readonly engine: NseEngine;
}

export const create: ModuleFactory = async ({ config, hostkey, log }) => {
  const cfg = readNseConfig(config);
  // The engine and the link need each other; the link calls validate only once started, after both exist.
  const link = new GossipLink({
    address: cfg.gossipApi,
    dataType: NSE_DATA_TYPE,
    log,
    validate: (data) => engine.onClaim(data).valid,
  });
  const engine: NseEngine = new NseEngine({
    params: cfg.params,
    self: {
      identity: hostkey.identity,
      spkiDer: hostkey.spkiDer,
      sign: (d) => hostkey.signAsync(d),
      powNonce: findPow(hostkey.identity, cfg.params.powBits),
    },
    announce: (data) => link.announce(data),
    gossipUpSince: () => link.upSince(),
    log,
  });
  const server = await startApiServer({
    module: 'nse',
    address: cfg.apiAddress,
    handler: nseApiHandler(() => engine.estimate()),
    log,
  });
  link.start();
  engine.start();
  const since = deltas(() => ({ sent: engine.claimsSent, ...Object.fromEntries(engine.stats) }));
  const stopStatus = startStatusLog(log, cfg.statusSeconds, (elapsed) => {
    const { sent, ...judged } = since();
    return nseStatusLine(engine.estimate(), link.upSince() !== undefined, sent ?? 0, judged, elapsed);
  });
  const mod: NseModule = {
    name: 'nse',
    engine,
    listening: { api: server.address },
    metrics: () => {
      const e = engine.estimate();
      return [
        gauge('voidphone_nse_estimate_peers', 'Network size estimate.', e.estimate),
        gauge('voidphone_nse_deviation_peers', 'Standard deviation of the per-round estimates.', e.deviation),
        gauge('voidphone_nse_rounds', 'Finished rounds the estimate is based on.', e.rounds),
        gauge(
          'voidphone_nse_gossip_up',
          'The Gossip API connection is up (1) or not (0).',
          link.upSince() ? 1 : 0,
        ),
        counter('voidphone_nse_claims_sent_total', 'Own claims announced.', engine.claimsSent),
        // Verdicts are a fixed set of words (valid or a refusal code), never a peer.
        ...[...engine.stats].map(([verdict, n]) =>
          counter('voidphone_nse_claims_judged_total', 'Claims judged, by verdict.', n, { verdict }),
        ),
      ];
    },
    async stop() {
      stopStatus();
      engine.stop();
      link.stop();
      await server.close();
    },
  };
  return mod;
};
