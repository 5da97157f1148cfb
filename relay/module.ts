// What every relay module is: a factory taking the parsed config, the hostkey and a logger.
import type { Hostkey } from './hostkey.ts';
import type { Logger } from './log.ts';
import type { RelayConfig } from './config.ts';

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
}

export type ModuleFactory = (ctx: ModuleContext) => Promise<RelayModule>;
