// What every relay module is (a factory taking the parsed config, the hostkey and a logger), and
// which modules the relay can run, loaded lazily so a module that is not configured costs nothing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RelayConfig } from './config.ts';
import type { Hostkey } from './hostkey.ts';
import type { Logger } from './log.ts';
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

/** Start order matters: modules that others use through the API come first. */
export const MODULE_ORDER = ['gossip', 'nse', 'rps', 'dht', 'onion', 'bridge'] as const;
export type ModuleName = (typeof MODULE_ORDER)[number];

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** A module is "built" when its folder has an index.ts exporting `create`. */
export function isBuilt(name: ModuleName): boolean {
  return existsSync(here(`./${name}/index.ts`));
}

export async function loadModule(name: ModuleName): Promise<ModuleFactory> {
  const mod = (await import(`./${name}/index.ts`)) as { create?: ModuleFactory };
  if (typeof mod.create !== 'function') throw new Error(`module ${name} has no create()`);
  return mod.create;
}
