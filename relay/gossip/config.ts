// [gossip] section -> typed options with the documented defaults (docs/gossip-protocol.md).
import type { HostPort } from '../../shared/address.ts';
import { type ConfigSection, readP2pEndpoint } from '../config.ts';
import { listensPrivately } from '../private-address.ts';

export interface GossipConfig {
  apiAddress: HostPort;
  /** Where the P2P listener binds. */
  p2pAddress: HostPort;
  /** What peers are told (its port goes into link handshakes; port 0: the bound port). */
  p2pAdvertise: HostPort;
  /** Empty: this relay is a bootstrap node itself. */
  bootstrappers: HostPort[];
  degree: number;
  cacheSize: number;
  powBits: number;
  maxConnections: number;
  maintainIntervalMs: number;
  pullIntervalMs: number;
  pexIntervalMs: number;
  validationTimeoutMs: number;
  dialBackoffMs: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  rateMsgs: number;
  rateBytes: number;
  /** Items (PUSH frames) accepted per neighbour per second (burst 2x); more are dropped. */
  pushRate: number;
  /** Send IHAVE for new items to the neighbours the eager push skipped (closes the coverage tail). */
  lazyPush: boolean;
  /** Dial loopback/private/link-local addresses that peers tell us (peer exchange). */
  dialPrivateAddresses: boolean;
  /** An info status line this often (relay/status.ts); 0: never. */
  statusSeconds: number;
}

export const GOSSIP_DEFAULTS = {
  degree: 8,
  cache_size: 50,
  pow_bits: 16,
  max_connections: 32,
  maintain_interval_ms: 1000,
  pull_interval_ms: 5000,
  pex_interval_ms: 10000,
  validation_timeout_ms: 5000,
  dial_backoff_ms: 1000,
  handshake_timeout_ms: 3000,
  idle_timeout_ms: 90000,
  rate_msgs: 500,
  rate_bytes: 4 * 1024 * 1024,
  push_rate: 100,
  status_seconds: 60,
} as const;

export function readGossipConfig(s: ConfigSection): GossipConfig {
  const d = GOSSIP_DEFAULTS;
  const degree = s.int('degree', d.degree, 1, 1000);
  const maxConnections = s.int('max_connections', Math.max(d.max_connections, degree + 1), 1, 10000);
  if (maxConnections < degree) s.fail('max_connections', `${maxConnections} is below degree ${degree}`);
  const { bind: p2pAddress, advertise: p2pAdvertise } = readP2pEndpoint(s);
  return {
    apiAddress: s.address('api_address'),
    p2pAddress,
    p2pAdvertise,
    bootstrappers: s.addressList('bootstrapper'),
    degree,
    cacheSize: s.int('cache_size', d.cache_size, 1, 100000),
    powBits: s.int('pow_bits', d.pow_bits, 0, 32),
    maxConnections,
    maintainIntervalMs: s.int('maintain_interval_ms', d.maintain_interval_ms, 10, 3600_000),
    pullIntervalMs: s.int('pull_interval_ms', d.pull_interval_ms, 10, 3600_000),
    pexIntervalMs: s.int('pex_interval_ms', d.pex_interval_ms, 10, 3600_000),
    validationTimeoutMs: s.int('validation_timeout_ms', d.validation_timeout_ms, 10, 3600_000),
    dialBackoffMs: s.int('dial_backoff_ms', d.dial_backoff_ms, 10, 3600_000),
    handshakeTimeoutMs: s.int('handshake_timeout_ms', d.handshake_timeout_ms, 100, 3600_000),
    idleTimeoutMs: s.int('idle_timeout_ms', d.idle_timeout_ms, 100, 86400_000),
    rateMsgs: s.int('rate_msgs', d.rate_msgs, 1, 1_000_000),
    rateBytes: s.int('rate_bytes', d.rate_bytes, 65536, 1 << 30),
    pushRate: s.int('push_rate', d.push_rate, 1, 1_000_000),
    lazyPush: s.bool('lazy_push', true),
    dialPrivateAddresses: s.bool('dial_private_addresses', listensPrivately(p2pAdvertise.host)),
    statusSeconds: s.int('status_seconds', d.status_seconds, 0, 86400),
  };
}
