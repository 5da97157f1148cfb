// `voidphone-relay check`: every section read by its module's own reader, nothing started. The
// same readers run at start, so a config that passes here fails there only on the machine (a port
// in use, an address not on this host).
import { readOptions as readBridgeOptions } from './bridge/options.ts';
import type { RelayConfig } from './config.ts';
import { readDhtConfig } from './dht/config.ts';
import { readGossipConfig } from './gossip/config.ts';
import { readNseConfig } from './nse/config.ts';
import { readOnionConfig } from './onion/config.ts';
import { readMetricsConfig } from './metrics/config.ts';
import { readHostkey } from './relay.ts';
import { readRpsOptions } from './rps/config.ts';

/** Each module's reader; throws the ConfigError naming file, section and key. */
const READERS: Readonly<Record<string, (config: RelayConfig) => unknown>> = {
  gossip: (c) => readGossipConfig(c.section('gossip')!),
  nse: (c) => readNseConfig(c),
  rps: (c) => readRpsOptions(c),
  onion: (c) => readOnionConfig(c),
  dht: (c) => readDhtConfig(c.section('dht')!),
  bridge: (c) => readBridgeOptions(c),
  metrics: (c) => readMetricsConfig(c),
};

export interface CheckResult {
  /** Sections read, in file order. */
  sections: string[];
  /** Deprecated keys, unknown sections and keys no reader asked for (likely typos). */
  warnings: string[];
}

/** Reads every section (and, unless `hostkey` is false, the hostkey); throws ConfigError. */
export async function checkConfig(
  config: RelayConfig,
  opts: { hostkey?: boolean } = {},
): Promise<CheckResult> {
  if (opts.hostkey !== false) await readHostkey(config);
  const sections: string[] = [];
  const unknown: string[] = [];
  for (const name of config.sections.keys()) {
    const read = READERS[name];
    if (!read) {
      unknown.push(`${config.file}: [${name}] unknown section ignored`);
      continue;
    }
    read(config);
    sections.push(name);
  }
  // Keys are judged after every reader ran: a section is also read by others (rps reads onion's).
  for (const name of sections) {
    const unused = config.section(name)!.unusedKeys();
    if (unused.length)
      unknown.push(`${config.file}: [${name}] unknown option(s) ignored: ${unused.join(', ')}`);
  }
  return { sections, warnings: [...config.warnings, ...unknown] };
}
