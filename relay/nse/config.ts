// The [nse] section (documented in docs/nse-protocol.md, "Configuration [nse]").
import type { HostPort } from '../../shared/address.ts';
import type { RelayConfig } from '../config.ts';
import type { NseParams } from './engine.ts';
import { MAX_KEYS } from './claim.ts';

export interface NseConfig {
  apiAddress: HostPort;
  /** From [gossip] api_address: NSE reaches Gossip only through its API. */
  gossipApi: HostPort;
  params: NseParams;
  /** An info status line this often (relay/status.ts); 0: never. */
  statusSeconds: number;
}

export const NSE_DEFAULTS = {
  round_seconds: 60,
  history_rounds: 16,
  pow_bits: 20,
  keys_per_round: 4,
  send_window: 0.5,
  clock_skew_ms: 2000,
} as const;

export function readNseConfig(config: RelayConfig): NseConfig {
  const sec = config.section('nse');
  const gossip = config.section('gossip');
  if (!sec) throw new Error(`${config.file}: [nse] section missing`);
  if (!gossip)
    return sec.fail('api_address', 'NSE needs Gossip: the [gossip] section (api_address) is missing');
  const d = NSE_DEFAULTS;
  const roundMs = Math.round(sec.number('round_seconds', d.round_seconds, 0.5, 86400) * 1000);
  // Skew may not eat the round: claims of a round are accepted for at most a quarter round either side.
  const skewMs = Math.min(sec.int('clock_skew_ms', d.clock_skew_ms, 0, 600_000), Math.floor(roundMs / 4));
  return {
    apiAddress: sec.address('api_address'),
    gossipApi: gossip.address('api_address'),
    params: {
      roundMs,
      historyRounds: sec.int('history_rounds', d.history_rounds, 1, 1024),
      powBits: sec.int('pow_bits', d.pow_bits, 0, 32),
      keys: sec.int('keys_per_round', d.keys_per_round, 1, MAX_KEYS),
      sendWindow: sec.number('send_window', d.send_window, 0.05, 0.9),
      skewMs,
    },
    statusSeconds: sec.int('status_seconds', 60, 0, 86400),
  };
}
