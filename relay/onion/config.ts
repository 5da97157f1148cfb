// [onion] options with their documented defaults (docs/onion-protocol.md, "Configuration [onion]").
import type { HostPort } from '../../shared/address.ts';
import type { RelayConfig } from '../config.ts';
import { ConfigError, readP2pEndpoint } from '../config.ts';
import { listensPrivately } from '../private-address.ts';
import { UNCLAIMED_TUNNEL_MS } from '../../shared/onion-timing.ts';
import { parseFamilies } from './family.ts';
import { CREDIT_EVERY, DEFAULT_WINDOW, MAX_WINDOW } from './link.ts';

export interface OnionConfig {
  apiAddress: HostPort;
  /** Where the P2P (link) listener binds; port 0: any free port. */
  p2pAddress: HostPort;
  /** What friends (presence) and RPS records are told; port 0: the bound port. */
  p2pAdvertise: HostPort;
  hops: number;
  roundSeconds: number;
  buildTimeoutMs: number;
  stepTimeoutMs: number;
  graceMs: number;
  coverTunnel: boolean;
  /** The cover answer's phase is drawn anew about once in this many rounds (and after each call). */
  coverPhaseRounds: number;
  /** BUILDs wait for the round's build slot (instead of the cover build) and READY for the boundary. */
  buildInSlot: boolean;
  /** The relay sends a page's cover itself while no API client sends any (service.ts). */
  relayCover: boolean;
  rpsAddress: HostPort | undefined;
  maxLinks: number;
  maxCircuitsPerLink: number;
  maxHopCircuits: number;
  createsPerSecond: number;
  maxTunnelsPerConnection: number;
  maxIncomingTunnels: number;
  /** A tunnel opened while no API client is connected ends (END) after this long. */
  unclaimedTunnelMs: number;
  /** How a cover tunnel's destination answers: on its own clock, or the old immediate echo. */
  coverReply: 'clock' | 'echo';
  /** Who times the cells a tunnel's endpoint sends for its client: our slot clock, or the client. */
  wireClock: 'relay' | 'client';
  /** Forwarded cells leave on a slot clock per hop circuit and direction, as an endpoint's do. */
  hopClock: boolean;
  idleLinkMs: number;
  /** A hop circuit that carried no cell either way for this long is closed. */
  idleCircuitMs: number;
  linkQueueBytes: number;
  circuitQueueCells: number;
  circuitQueueMs: number;
  linkWindowCells: number;
  /** RELAY cells and API DATA that waited this long in this relay's input queue are dropped. */
  inputQueueMs: number;
  /** Bytes all circuits together may hold in partial (fragmented) relay messages. */
  reassemblyBytes: number;
  /** EXTEND to loopback/private addresses allowed (default: when p2p_advertise is one itself). */
  extendPrivateAddresses: boolean;
  onionKeyRotationSeconds: number;
  /** Entry guards kept (0: a random first hop every circuit). */
  numGuards: number;
  guardLifetimeDays: number;
  /** A guard that has been unreachable this long is replaced. */
  guardDownSeconds: number;
  /** An unreachable guard is tried again after this long. */
  guardRetrySeconds: number;
  /** This relay's own family (hex identities). */
  family: string[];
  /** Other operators' families. */
  families: string[][];
  /** No two relays of one /16 (IPv6: /32) in a path. */
  distinctSubnets: boolean;
  /** The guards' state file (default: onion-guards-<identity prefix>.json next to the config). */
  guardState: string | undefined;
  /** An info log line with the module's counts this often; 0: never. */
  statusSeconds: number;
}

export function readOnionConfig(config: RelayConfig): OnionConfig {
  const s = config.section('onion');
  if (!s) throw new ConfigError(`${config.file}: [onion] section missing`);
  const p2p = readP2pEndpoint(s, '127.0.0.1:0');
  const rps = config.section('rps');
  const roundSeconds = s.number('round_seconds', 60, 1, 86400);
  const buildTimeoutMs = s.int('build_timeout_ms', 5000, 100, 120_000);
  return {
    apiAddress: s.address('api_address'),
    p2pAddress: p2p.bind,
    p2pAdvertise: p2p.advertise,
    hops: s.int('hops', 2, 2, 8),
    roundSeconds,
    buildTimeoutMs,
    stepTimeoutMs: s.int('step_timeout_ms', Math.min(2000, buildTimeoutMs), 50, 60_000),
    graceMs: s.int('grace_ms', Math.min(2000, Math.floor((roundSeconds * 1000) / 4)), 0, 600_000),
    coverTunnel: s.bool('cover_tunnel', true),
    coverPhaseRounds: s.int('cover_phase_rounds', 30, 1, 1_000_000),
    buildInSlot: s.bool('build_in_slot', true),
    relayCover: s.bool('relay_cover', true),
    rpsAddress: rps?.has('api_address') ? rps.address('api_address') : undefined,
    maxLinks: s.int('max_links', 1024, 1, 100_000),
    maxCircuitsPerLink: s.int('max_circuits_per_link', 1024, 1, 1_000_000),
    maxHopCircuits: s.int('max_hop_circuits', 8192, 1, 1_000_000),
    createsPerSecond: s.int('creates_per_second', 200, 1, 1_000_000),
    maxTunnelsPerConnection: s.int('max_tunnels_per_connection', 64, 1, 100_000),
    maxIncomingTunnels: s.int('max_incoming_tunnels', 1024, 1, 1_000_000),
    unclaimedTunnelMs: s.int('unclaimed_tunnel_ms', UNCLAIMED_TUNNEL_MS, 100, 3_600_000),
    coverReply: s.oneOf('cover_reply', ['clock', 'echo'] as const, 'clock'),
    wireClock: s.oneOf('wire_clock', ['relay', 'client'] as const, 'relay'),
    hopClock: s.bool('hop_clock', true),
    idleLinkMs: s.int('idle_link_ms', 60_000, 100, 86_400_000),
    idleCircuitMs: s.int('idle_circuit_ms', 300_000, 1000, 86_400_000),
    linkQueueBytes: s.int('link_queue_bytes', 256 * 1024, 4 * 1024, 1 << 30),
    circuitQueueCells: s.int('circuit_queue_cells', 400, 1, 65536),
    circuitQueueMs: s.int('circuit_queue_ms', 250, 1, 600_000),
    linkWindowCells: s.int('link_window_cells', DEFAULT_WINDOW, 2 * CREDIT_EVERY, MAX_WINDOW),
    inputQueueMs: s.int('input_queue_ms', 100, 1, 60_000),
    reassemblyBytes: s.int('reassembly_bytes', 32 * 1024 * 1024, 1024 * 1024, 1 << 30),
    extendPrivateAddresses: s.bool('extend_private_addresses', listensPrivately(p2p.advertise.host)),
    onionKeyRotationSeconds: s.int('onion_key_rotation_seconds', 86400, 60, 30 * 86400),
    numGuards: s.int('num_guards', 2, 0, 16),
    guardLifetimeDays: s.number('guard_lifetime_days', 60, 0.0001, 3650),
    guardDownSeconds: s.int('guard_down_seconds', 86400, 1, 365 * 86400),
    guardRetrySeconds: s.int('guard_retry_seconds', 600, 1, 86400),
    family: families(s, 'family').flat(),
    families: families(s, 'families'),
    distinctSubnets: s.bool('distinct_subnets', !listensPrivately(p2p.advertise.host)),
    guardState: s.optionalString('guard_state') === undefined ? undefined : s.path('guard_state'),
    statusSeconds: s.int('status_seconds', 60, 0, 86400),
  };
}

function families(s: NonNullable<ReturnType<RelayConfig['section']>>, key: string): string[][] {
  try {
    return parseFamilies(s.optionalString(key));
  } catch (e) {
    return s.fail(key, (e as Error).message);
  }
}
