// The onion module's metrics: the gauges and counters of its status line (relay/onion/status.ts).
import type { OnionStats } from '../onion/stats.ts';
import type { OnionGauges } from '../onion/status.ts';
import { counter, gauge, type MetricSample } from './samples.ts';

const COUNTERS: [keyof OnionStats, string, string][] = [
  ['cellsForwarded', 'cells_forwarded', 'Cells forwarded as a hop.'],
  ['circuitsBuilt', 'circuits_built', 'Circuits built for own tunnels (each round and repairs).'],
  ['buildFailures', 'build_failures', 'Circuit builds that failed.'],
  ['switchovers', 'switchovers', 'Own tunnels moved to a new circuit at a round boundary.'],
  ['dataMessagesIn', 'data_messages_in', 'DATA messages received on tunnels ending here.'],
  ['dataMessagesOut', 'data_messages_out', 'DATA messages sent back on tunnels ending here.'],
  ['coverSentBytes', 'cover_sent_bytes', 'Cover traffic bytes sent.'],
  ['coverReceivedBytes', 'cover_received_bytes', 'Cover traffic bytes received.'],
  ['coverEchoedBytes', 'cover_echoed_bytes', 'Cover traffic bytes echoed back.'],
  ['shed', 'dropped_overload', 'RELAY cells and API DATA dropped after waiting too long in the input queue.'],
  [
    'wireCellsSent',
    'wire_cells_sent',
    'Cells sent on the tunnel ends’ wire clocks (one per 20 ms slot per stream).',
  ],
  [
    'wireWaitMs',
    'wire_wait_ms',
    'Milliseconds the cells sent on the wire clocks waited for their slot, summed.',
  ],
  [
    'wireCellsDropped',
    'wire_cells_dropped',
    'Cells dropped because a wire clock or the relay’s wire budget was full.',
  ],
  ['hopCellsSent', 'hop_cells_sent', 'Cells forwarded on the middle-hop clocks (hop_clock).'],
  ['hopWaitMs', 'hop_wait_ms', 'Milliseconds forwarded cells waited for their hop clock’s slot, summed.'],
  [
    'hopCellsDropped',
    'hop_cells_dropped',
    'Forwarded cells dropped because a hop clock or its budget was full.',
  ],
  ['relayViolations', 'relay_violations', 'Protocol violations on relay cells.'],
  ['cellsUnknownCircuit', 'cells_unknown_circuit', 'Cells for circuits this relay does not know.'],
  ['cellsUnrecognized', 'cells_unrecognized', 'Cells no layer recognised.'],
];

export function onionMetrics(g: OnionGauges, stats: OnionStats): MetricSample[] {
  return [
    gauge('voidphone_onion_links', 'Onion links, by who dialled.', g.linksOut, { direction: 'out' }),
    gauge('voidphone_onion_links', 'Onion links, by who dialled.', g.linksIn, { direction: 'in' }),
    gauge('voidphone_onion_tunnels_own', 'Tunnels of this relay’s API clients.', g.ownTunnels),
    gauge('voidphone_onion_tunnels_ending_here', 'Tunnels ending at this relay.', g.endingHere),
    gauge('voidphone_onion_hop_circuits', 'Circuits through or ending at this relay.', g.hopCircuits),
    gauge('voidphone_onion_cover_up', 'This round’s cover tunnel is up (1) or not (0).', g.cover ? 1 : 0),
    ...COUNTERS.map(([key, name, help]) => counter(`voidphone_onion_${name}_total`, help, stats[key])),
  ];
}
