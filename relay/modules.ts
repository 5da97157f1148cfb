// Which modules the relay can run, loaded lazily so a module that is not configured costs nothing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ModuleFactory } from './module.ts';

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
