// What every relay module is: a factory taking the parsed config, the hostkey and a logger.
import type { Hostkey } from './hostkey.ts';
import type { Logger } from './log.ts';
import type { RelayConfig } from './config.ts';
import type { MetricSample } from './metrics/samples.ts';

export interface ModuleContext {
  readonly config: RelayConfig;
  readonly hostkey: Hostkey;
  readonly log: Logger;
}

export interface RelayModule {
  /** Section name: gossip, nse, rps, onion, dht, bridge. */
  readonly name: string;
  /** Sockets this module listens on, e.g. { api: '127.0.0.1:7001', p2p: '127.0.0.1:7002' }. */
  readonly listening: Record<string, string>;
  stop(): Promise<void>;
  /** Aggregate counters and gauges for /metrics ([metrics] section): counts only, no peers. */
  metrics?(): MetricSample[];
}

export type ModuleFactory = (ctx: ModuleContext) => Promise<RelayModule>;
