// The NSE module: network size estimation after GNUnet's NSE, on top of the Gossip API.
import { findPow } from '../p2p/pow.ts';
import { startApiServer } from '../api/server.ts';
import type { ModuleFactory, RelayModule } from '../module.ts';
import { NSE_DATA_TYPE } from './claim.ts';
import { readNseConfig } from './config.ts';
import { NseEngine } from './engine.ts';
import { GossipLink } from './gossip-link.ts';
import { nseApiHandler } from './service.ts';
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
    async stop() {
      stopStatus();
      engine.stop();
      link.stop();
      await server.close();
    },
  };
  return mod;
};
