// In-process access to a running onion module's counters, for tests and the bench only (never the
// spec API). Keyed by the module's P2P address "host:port".
import type { Ingress } from '../ingress.ts';
import type { HopCircuit } from './hop.ts';
import type { Link } from './link.ts';
import type { OnionStats } from './stats.ts';

export interface OnionDebug {
  readonly p2p: string;
  readonly stats: OnionStats;
  links(): Link[];
  /** Hop circuits passing through or ending here. */
  hopCircuits(): number;
  outTunnels(): number;
  inTunnels(): number;
  coverReady(): boolean;
  /** The relay's input queue (tests make it busy with real work to make the relay short of CPU). */
  readonly ingress: Ingress;
  /**
   * Build a fresh circuit to the destination of outbound tunnel `tunnelId` and send RESUME with
   * `secret` (the tunnel's real secret when omitted); true if the destination accepted it.
   */
  tryResume(tunnelId: number, secret?: Uint8Array): Promise<boolean>;
  /** "host:port" of each hop of an outbound tunnel's current circuit (destination last). */
  tunnelPath(tunnelId: number): string[];
  /** Identities (hex) of the entry guards, in order of preference. */
  guards(): string[];
  /** Identities (hex) path bias avoids. */
  avoided(): string[];
  /** The same for the current cover circuit ([] when none). */
  coverPath(): string[];
  /** Watch every RELAY cell of the hop circuits here (a curious hop's view); undefined: stop. */
  observeHops(fn: ((hop: HopCircuit, forward: boolean) => void) | undefined): void;
}

export const onionInstances = new Map<string, OnionDebug>();

/**
 * Tests and the bench only: what a wire observer of a relay's onion links sees. When set, every
 * link write and every socket read (after TCP, as the kernel hands it over) is reported with the
 * relay's identity (whose side of the link), the link's id, the direction and the bytes (whole
 * 240-byte units after the handshake). Unset (the default) it costs one property read per write.
 */
export type LinkTapFn = (relay: Uint8Array, linkId: number, dir: 'in' | 'out', bytes: number) => void;
export const linkTap: { fn: LinkTapFn | undefined } = { fn: undefined };

/** One hop circuit as a curious hop recorded it (VOIDPHONE_ONION_HOP_TRACE). */
export interface HopTrace {
  /** The circuit id on the link towards the initiator, and towards the next hop (null: it ends here). */
  prevId: number;
  nextId: number | null;
  /** What it ends in when it ends here: a cover clock, a tunnel, or a cover circuit's marker. */
  end: string | null;
  /** Arrival times (ms since the epoch, sub-ms) of RELAY cells from the initiator's side and back. */
  fwd: number[];
  back: number[];
}

/**
 * Tests and the bench only, for relays in processes of their own: with VOIDPHONE_ONION_HOP_TRACE set
 * to a folder, the onion module records every hop circuit's cells as `observeHops` would and writes
 * them to `<folder>/<identity>.json` when it stops (the curious-hop test reads them).
 */
export function hopTraceRecorder(): {
  onCell: (hop: HopCircuit, forward: boolean) => void;
  traces(): HopTrace[];
} {
  const byHop = new Map<HopCircuit, HopTrace>();
  return {
    onCell: (hop, forward) => {
      let t = byHop.get(hop);
      if (!t) {
        t = { prevId: hop.prevId, nextId: null, end: null, fwd: [], back: [] };
        byHop.set(hop, t);
      }
      t.nextId = hop.next?.circId ?? null;
      const end = hop.tunnel;
      t.end = hop.next
        ? null
        : typeof end === 'symbol'
          ? 'cover'
          : ((end as object | undefined)?.constructor?.name ?? null);
      (forward ? t.fwd : t.back).push(performance.timeOrigin + performance.now());
    },
    traces: () => [...byHop.values()],
  };
}
