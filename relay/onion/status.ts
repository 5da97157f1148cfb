// The onion module's status line (see relay/status.ts): no addresses, identities or destinations.
import type { Logger } from '../log.ts';
import { startStatusLog } from '../status.ts';
import type { OnionStats } from './stats.ts';

export interface OnionGauges {
  linksOut: number;
  linksIn: number;
  ownTunnels: number;
  endingHere: number;
  hopCircuits: number;
  /** This round's cover tunnel is up (when cover_tunnel is on). */
  cover: boolean;
}

/** The status line for `seconds` between two snapshots of the counters. */
export function statusLine(g: OnionGauges, before: OnionStats, now: OnionStats, seconds: number): string {
  const d = (k: keyof OnionStats) => now[k] - before[k];
  const fwd = d('cellsForwarded');
  const parts = [
    `links ${g.linksOut + g.linksIn} (${g.linksOut} out, ${g.linksIn} in)`,
    `tunnels ${g.ownTunnels} own, ${g.endingHere} ending here, cover ${g.cover ? 'up' : 'down'}`,
    `${g.hopCircuits} hop circuits`,
    `last ${Math.round(seconds)} s: ${fwd} cells forwarded (${Math.round(fwd / Math.max(1, seconds))}/s)`,
    `${d('circuitsBuilt')} circuits built, ${d('buildFailures')} failed`,
    `${d('switchovers')} switch-overs`,
    `DATA ${d('dataMessagesIn')} in / ${d('dataMessagesOut')} out`,
    `cover ${d('coverSentBytes')} B sent, ${d('coverEchoedBytes')} B echoed`,
  ];
  const bad = d('relayViolations') + d('cellsUnknownCircuit');
  if (bad > 0)
    parts.push(
      `${d('relayViolations')} relay violations, ${d('cellsUnknownCircuit')} cells for unknown circuits`,
    );
  return parts.join('; ');
}

/** Logs statusLine every `seconds` (0: never); returns the stop function. */
export function startStatus(
  log: Logger,
  seconds: number,
  stats: OnionStats,
  gauges: () => OnionGauges,
): () => void {
  let before = { ...stats };
  return startStatusLog(log, seconds, (elapsed) => {
    const line = statusLine(gauges(), before, stats, elapsed);
    before = { ...stats };
    return line;
  });
}
