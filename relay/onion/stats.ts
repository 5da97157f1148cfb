// Counters for tests and the bench (read in-process through debug.ts, never via the spec API).
import type { WireStats } from './wireclock.ts';

export interface OnionStats {
  cellsForwarded: number;
  cellsUnknownCircuit: number;
  cellsUnrecognized: number;
  relayViolations: number;
  coverSentBytes: number;
  coverReceivedBytes: number;
  coverEchoedBytes: number;
  dataMessagesIn: number;
  dataMessagesOut: number;
  circuitsBuilt: number;
  buildFailures: number;
  switchovers: number;
  /** Cells that reached a circuit's end (initiator or destination) and failed their MAC there. */
  macFailures: number;
  /** Circuits an end tore down for cells failing their MAC (a hop tagging or corrupting cells). */
  taggedCircuits: number;
  /** Hop circuits closed for carrying nothing for idle_circuit_ms. */
  idleCircuitsClosed: number;
  /** RELAY cells and API DATA dropped because they waited too long in this busy relay's input queue. */
  shed: number;
  /** New middle-hop circuits refused (torn down at their EXTEND) while short of CPU. */
  circuitsRefused: number;
  /** Cells a client handed over faster than the wire clock drains them, dropped (wireclock.ts). */
  wireCellsDropped: number;
  /** Cells sent on the wire clocks, and their waits for a slot summed (ms). */
  wireCellsSent: number;
  wireWaitMs: number;
  /** The same for the middle-hop clocks (hop_clock): their waits are not a tunnel end's. */
  hopCellsDropped: number;
  hopCellsSent: number;
  hopWaitMs: number;
}

export function newStats(): OnionStats {
  return {
    cellsForwarded: 0,
    cellsUnknownCircuit: 0,
    cellsUnrecognized: 0,
    relayViolations: 0,
    coverSentBytes: 0,
    coverReceivedBytes: 0,
    coverEchoedBytes: 0,
    dataMessagesIn: 0,
    dataMessagesOut: 0,
    circuitsBuilt: 0,
    buildFailures: 0,
    switchovers: 0,
    shed: 0,
    circuitsRefused: 0,
    macFailures: 0,
    taggedCircuits: 0,
    idleCircuitsClosed: 0,
    wireCellsDropped: 0,
    wireCellsSent: 0,
    wireWaitMs: 0,
    hopCellsDropped: 0,
    hopCellsSent: 0,
    hopWaitMs: 0,
  };
}

/**
 * The counters a middle hop's wire clocks update (WireClock takes `WireStats`): the hop fields of
 * `s`, so the status line tells a tunnel end's clock waits from the hops' (they were summed).
 */
export function hopWireStats(s: OnionStats): WireStats {
  return {
    get wireCellsDropped() {
      return s.hopCellsDropped;
    },
    set wireCellsDropped(v) {
      s.hopCellsDropped = v;
    },
    get wireCellsSent() {
      return s.hopCellsSent;
    },
    set wireCellsSent(v) {
      s.hopCellsSent = v;
    },
    get wireWaitMs() {
      return s.hopWaitMs;
    },
    set wireWaitMs(v) {
      s.hopWaitMs = v;
    },
  };
}
