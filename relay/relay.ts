// A relay = the configured modules started in order, sharing one config and hostkey.
import { type RelayConfig, ConfigError } from './config.ts';
import { type Hostkey, loadHostkey } from './hostkey.ts';
import { createLogger, type Logger } from './log.ts';
import { isBuilt, loadModule, MODULE_ORDER, type ModuleName, type RelayModule } from './module.ts';
import { readMetricsConfig } from './metrics/config.ts';
import { startMetrics } from './metrics/index.ts';

export interface Relay {
  readonly hostkey: Hostkey;
  readonly modules: RelayModule[];
  stop(): Promise<void>;
}

export async function readHostkey(config: RelayConfig): Promise<Hostkey> {
  try {
    return await loadHostkey(config.hostkeyPath);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.syscall
      ? `cannot read ${config.hostkeyPath} (${err.code})`
      : `not a usable RSA private key (${err.message})`;
    throw new ConfigError(`${config.file}: hostkey: ${why}`);
  }
}

/** Modules to run: those with a section in the config, built, and allowed by `only`. */
export function selectModules(config: RelayConfig, only?: string[], log?: Logger): ModuleName[] {
  if (only) {
    for (const name of only) {
      if (!(MODULE_ORDER as readonly string[]).includes(name))
        throw new ConfigError(`--only: unknown module "${name}"`);
    }
  }
  return MODULE_ORDER.filter((name) => {
    if (!config.section(name)) return false;
    if (only && !only.includes(name)) return false;
    if (!isBuilt(name)) {
      log?.warn(`[${name}] section present but this module is not built yet: skipped`);
      return false;
    }
    return true;
  });
}

/** Checks that hold for every module section, before anything starts. */
function checkSections(config: RelayConfig): void {
  for (const name of MODULE_ORDER) {
    if (name !== 'bridge') config.section(name)?.address('api_address');
  }
  readMetricsConfig(config);
}

export async function startRelay(
  config: RelayConfig,
  opts: { only?: string[]; log?: Logger } = {},
): Promise<Relay> {
  const log = opts.log ?? createLogger('relay');
  checkSections(config);
  const hostkey = await readHostkey(config);
  const names = selectModules(config, opts.only, log);
  const modules: RelayModule[] = [];
  const stop = async () => {
    for (const m of [...modules].reverse()) {
      try {
        await m.stop();
      } catch (e) {
        log.error(`stopping ${m.name}: ${(e as Error).message}`);
      }
    }
  };
  try {
    for (const name of names) {
      const create = await loadModule(name);
      const m = await create({ config, hostkey, log: log.child(name) });
      modules.push(m);
      for (const [what, addr] of Object.entries(m.listening))
        log.info(`${name} ${what} listening on ${addr}`);
    }
    // Last, so /healthz answers only once every module runs.
    const metricsCfg = readMetricsConfig(config);
    if (metricsCfg) {
      const running = [...modules];
      const m = await startMetrics(metricsCfg, () => running, log.child('metrics'));
      modules.push(m);
      log.info(`metrics http listening on ${m.listening.http}`);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { hostkey, modules, stop };
}
