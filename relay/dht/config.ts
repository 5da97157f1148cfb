// [dht] section -> typed options with documented defaults (docs/dht-protocol.md, "Configuration").
import type { HostPort } from '../../shared/address.ts';
import { type ConfigSection, readP2pEndpoint } from '../config.ts';
import { listensPrivately } from '../private-address.ts';
import { MAX_CONTACTS } from './protocol.ts';

export interface DhtConfig {
  apiAddress: HostPort;
  /** Where the P2P listener binds. */
  p2pAddress: HostPort;
  /** What peers are told (its port goes into link handshakes; port 0: the bound port). */
  p2pAdvertise: HostPort;
  bootstrappers: HostPort[];
  k: number;
  alpha: number;
  disjointPaths: number;
  maxReplication: number;
  maxTtl: number;
  storeDir: string;
  powBits: number;
  requestTimeoutMs: number;
  dialTimeoutMs: number;
  /** Deadline of an inbound link handshake (a half-open one holds a listener slot until then). */
  handshakeTimeoutMs: number;
  getTimeoutMs: number;
  quotaBytes: number;
  maxStoreBytes: number;
  maxEntries: number;
  /** Stored-value quota of all peers at one IP / in one /24 (IPv6: /48); loopback exempt. */
  ipQuotaBytes: number;
  subnetQuotaBytes: number;
  /** Routing-table contacts at one IP / in one /24 (IPv6: /48); loopback exempt. */
  maxContactsPerIp: number;
  maxContactsPerSubnet: number;
  republishSeconds: number;
  refreshSeconds: number;
  maxLinks: number;
  maxLookups: number;
  misbehave: 'none' | 'liar';
  colluders: Set<string>;
  /** Use contacts at loopback/private addresses from NODES replies (default: when p2p_address is private). */
  dialPrivateAddresses: boolean;
  /** An info status line this often (relay/status.ts); 0: never. */
  statusSeconds: number;
}

export function readDhtConfig(s: ConfigSection): DhtConfig {
  const k = s.int('k', 20, 1, MAX_CONTACTS);
  const p2p = readP2pEndpoint(s);
  const quota = s.int('quota', 1024 * 1024, 0);
  return {
    apiAddress: s.address('api_address'),
    p2pAddress: p2p.bind,
    p2pAdvertise: p2p.advertise,
    dialPrivateAddresses: s.bool('dial_private_addresses', listensPrivately(p2p.advertise.host)),
    bootstrappers: s.addressList('bootstrapper'),
    k,
    alpha: s.int('alpha', 3, 1, 16),
    disjointPaths: s.int('disjoint_paths', 3, 1, 16),
    maxReplication: s.int('max_replication', 2 * k, k, 64),
    maxTtl: s.int('max_ttl', 86_400, 1, 0xffffffff),
    storeDir: s.path('store', 'dht-store'),
    powBits: s.int('pow_bits', 16, 0, 32),
    requestTimeoutMs: s.int('request_timeout', 2000, 10, 600_000),
    dialTimeoutMs: s.int('dial_timeout', 5000, 10, 600_000),
    handshakeTimeoutMs: s.int('handshake_timeout', 3000, 10, 600_000),
    getTimeoutMs: s.int('get_timeout', 10_000, 10, 600_000),
    quotaBytes: quota,
    ipQuotaBytes: s.int('ip_quota', 2 * quota, 0),
    subnetQuotaBytes: s.int('subnet_quota', 4 * quota, 0),
    maxContactsPerIp: s.int('max_contacts_per_ip', 2, 1, 10_000),
    maxContactsPerSubnet: s.int('max_contacts_per_subnet', 8, 1, 10_000),
    maxStoreBytes: s.int('max_store_bytes', 64 * 1024 * 1024, 0),
    maxEntries: s.int('max_entries', 100_000, 1),
    republishSeconds: s.number('republish_interval', 3600, 0.1),
    refreshSeconds: s.number('refresh_interval', 600, 0.1),
    maxLinks: s.int('max_links', 128, 4, 4096),
    maxLookups: s.int('max_lookups', 64, 1, 4096),
    misbehave: s.oneOf('misbehave', ['none', 'liar'] as const, 'none'),
    statusSeconds: s.int('status_seconds', 60, 0, 86400),
    colluders: new Set(
      (s.optionalString('colluders') ?? '')
        .toLowerCase()
        .split(/[\s,]+/)
        .filter(Boolean),
    ),
  };
}
