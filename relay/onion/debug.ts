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
