// The onion module's status line (see relay/status.ts): no addresses, identities or destinations.
import type { Logger } from '../log.ts';
import { deltas, startStatusLog } from '../status.ts';
import type { OnionStats } from './stats.ts';

export interface OnionGauges {
  linksOut: number;
  linksIn: number;
  ownTunnels: number;
  endingHere: number;
  hopCircuits: number;
  /** This round's cover tunnel is up (when cover_tunnel is on). */
  cover: boolean;
  /** The relay is short of CPU now (its input queue cannot keep up). */
  shortOfCpu?: boolean;
}

/** The status line; `since`: the counters' growth over the last `seconds`. */
export function statusLine(g: OnionGauges, since: OnionStats, seconds: number): string {
  const fwd = since.cellsForwarded;
  const parts = [
    `links ${g.linksOut + g.linksIn} (${g.linksOut} out, ${g.linksIn} in)`,
    `tunnels ${g.ownTunnels} own, ${g.endingHere} ending here, cover ${g.cover ? 'up' : 'down'}`,
    `${g.hopCircuits} hop circuits`,
    `last ${Math.round(seconds)} s: ${fwd} cells forwarded (${Math.round(fwd / Math.max(1, seconds))}/s)`,
    `${since.circuitsBuilt} circuits built, ${since.buildFailures} failed`,
    `${since.switchovers} switch-overs`,
    `DATA ${since.dataMessagesIn} in / ${since.dataMessagesOut} out`,
    `cover ${since.coverSentBytes} B sent, ${since.coverEchoedBytes} B echoed`,
  ];
  if (since.wireCellsSent > 0)
    parts.push(
      `tunnel-end clocks ${since.wireCellsSent} cells, mean wait ${(since.wireWaitMs / since.wireCellsSent).toFixed(1)} ms` +
        (since.wireCellsDropped > 0 ? `, ${since.wireCellsDropped} dropped` : ''),
    );
  if (since.hopCellsSent > 0)
    parts.push(
      `hop clocks ${since.hopCellsSent} cells, mean wait ${(since.hopWaitMs / since.hopCellsSent).toFixed(1)} ms` +
        (since.hopCellsDropped > 0 ? `, ${since.hopCellsDropped} dropped` : ''),
    );
  if (g.shortOfCpu || since.circuitsRefused > 0)
    parts.push(
      `short of CPU${g.shortOfCpu ? ' now' : ''}: ${since.circuitsRefused} new middle-hop circuits refused`,
    );
  if (since.shed > 0) parts.push(`overloaded: ${since.shed} stale cells and DATA dropped`);
  if (since.macFailures > 0)
    parts.push(
      `${since.macFailures} cells failed their MAC at a circuit end, ${since.taggedCircuits} circuits torn down for it (a hop tagging cells?)`,
    );
  const bad = since.relayViolations + since.cellsUnknownCircuit;
  if (bad > 0)
    parts.push(
      `${since.relayViolations} relay violations, ${since.cellsUnknownCircuit} cells for unknown circuits`,
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
  const since = deltas<keyof OnionStats>(() => stats);
  return startStatusLog(log, seconds, (elapsed) => statusLine(gauges(), since(), elapsed));
}
