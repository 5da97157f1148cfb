// [rps] options (documented in docs/rps-protocol.md, "Configuration [rps]"), plus what RPS reads
// from the other sections: the P2P ports it advertises and the Gossip/NSE API addresses.
import { isIPv6 } from '../../shared/address.ts';
import type { HostPort } from '../../shared/address.ts';
import { listensPrivately } from '../private-address.ts';
import type { PortMapEntry } from '../../shared/wire/types.ts';
import { ModuleId } from '../../shared/wire/types.ts';
import type { RelayConfig } from '../config.ts';
import { ConfigError } from '../config.ts';

/** Our own portmap entry for the RPS P2P port (pulls, pushes, probes). */
export const RPS_MODULE_ID = 540;

export interface RpsOptions {
  apiAddress: HostPort;
  p2pAddress: HostPort;
  /** Store file, or undefined for no persistence. */
  store: string | undefined;
  advertiseIp: string;
  /** Accept records with loopback/private addresses (default: when we advertise such an address). */
  dialPrivateAddresses: boolean;
  portmap: PortMapEntry[];
  /** Gossip P2P port: the RPS PEER "port" field of our record. */
  mainPort: number;
  gossipApi: HostPort | undefined;
  nseApi: HostPort | undefined;
  roundMs: number;
  announceMs: number;
  saveMs: number;
  recordMaxAgeMs: number;
  clockSkewMs: number;
  probeMaxAgeMs: number;
  probeTimeoutMs: number;
  connectTimeoutMs: number;
  /** Deadline of an inbound link handshake (a half-open one holds a listener slot until then). */
  handshakeTimeoutMs: number;
  tombstoneMs: number;
  queryTimeoutMs: number;
  maxPendingQueries: number;
  alpha: number;
  beta: number;
  viewFactor: number;
  viewMin: number;
  viewMax: number;
  samplerFactor: number;
  samplerMin: number;
  samplerMax: number;
  defaultSize: number;
  maxPeers: number;
  minKeyBits: number;
  powBits: number;
  maxLinks: number;
  /** RPS P2P addresses to pull from at start (identity learnt in the link handshake). */
  bootstrappers: HostPort[];
  /** An info status line this often (relay/status.ts); 0: never. */
  statusSeconds: number;
}

const UNSPECIFIED = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || isIPv6(host);
}

function defaultIp(config: RelayConfig, p2p: HostPort): string | undefined {
  const gossip = config.section('gossip');
  const hosts = [
    p2p.host,
    gossip?.has('p2p_address') ? gossip.address('p2p_address').host : undefined,
    config.section('onion')?.optionalString('p2p_hostname'),
  ];
  return hosts.find((h) => h !== undefined && isIpLiteral(h) && !UNSPECIFIED.has(h));
}

function buildPortmap(config: RelayConfig, p2p: HostPort): PortMapEntry[] {
  const map: PortMapEntry[] = [];
  const gossip = config.section('gossip');
  if (gossip?.has('p2p_address'))
    map.push({ module: ModuleId.GOSSIP, port: gossip.address('p2p_address').port });
  const nse = config.section('nse');
  if (nse?.has('p2p_address')) map.push({ module: ModuleId.NSE, port: nse.address('p2p_address').port });
  const onion = config.section('onion');
  if (onion?.has('p2p_port')) map.push({ module: ModuleId.ONION, port: onion.int('p2p_port', 0, 1, 65535) });
  const dht = config.section('dht');
  if (dht?.has('p2p_address')) map.push({ module: ModuleId.DHT, port: dht.address('p2p_address').port });
  map.push({ module: RPS_MODULE_ID, port: p2p.port });
  return map;
}

export function readRpsOptions(config: RelayConfig): RpsOptions {
  const s = config.section('rps');
  if (!s) throw new ConfigError(`${config.file}: [rps] section missing`);
  const p2pAddress = s.address('p2p_address');
  const advertiseIp = s.optionalString('advertise_ip') ?? defaultIp(config, p2pAddress);
  if (!advertiseIp || !isIpLiteral(advertiseIp) || UNSPECIFIED.has(advertiseIp)) {
    return s.fail(
      'advertise_ip',
      'needed (an IP address other peers reach us at) when p2p_address is not an IP',
    );
  }
  const portmap = buildPortmap(config, p2pAddress);
  const gossip = config.section('gossip');
  const nse = config.section('nse');
  const roundMs = s.number('round_interval', 10, 0.05, 86400) * 1000;
  const alpha = s.number('alpha', 0.45, 0.05, 0.9);
  const beta = s.number('beta', 0.45, 0.05, 0.9);
  if (alpha + beta > 1) s.fail('beta', `alpha + beta = ${alpha + beta} > 1`);
  return {
    apiAddress: s.address('api_address'),
    p2pAddress,
    store: s.has('store') ? s.path('store') : undefined,
    advertiseIp,
    dialPrivateAddresses: s.bool('dial_private_addresses', listensPrivately(advertiseIp)),
    portmap,
    mainPort: portmap.find((e) => e.module === ModuleId.GOSSIP)?.port ?? p2pAddress.port,
    gossipApi: gossip?.has('api_address') ? gossip.address('api_address') : undefined,
    nseApi: nse?.has('api_address') ? nse.address('api_address') : undefined,
    roundMs,
    announceMs: s.number('announce_interval', 60, 0.05, 86400) * 1000,
    saveMs: s.number('save_interval', 30, 0.05, 86400) * 1000,
    recordMaxAgeMs: s.number('record_max_age', 900, 1, 30 * 86400) * 1000,
    clockSkewMs: s.number('max_clock_skew', 60, 0, 86400) * 1000,
    probeMaxAgeMs: s.number('probe_max_age', roundMs / 1000, 0.01, 86400) * 1000,
    probeTimeoutMs: s.number('probe_timeout', 3, 0.05, 600) * 1000,
    connectTimeoutMs: s.number('connect_timeout', 10, 0.05, 600) * 1000,
    handshakeTimeoutMs: s.number('handshake_timeout', 3, 0.05, 600) * 1000,
    tombstoneMs: s.number('tombstone_ttl', 300, 0, 30 * 86400) * 1000,
    queryTimeoutMs: s.number('query_timeout', 10, 0.05, 3600) * 1000,
    maxPendingQueries: s.int('max_pending_queries', 64, 1, 65535),
    alpha,
    beta,
    viewFactor: s.number('view_factor', 4, 0.1, 1000),
    viewMin: s.int('view_min', 6, 1, 4096),
    viewMax: s.int('view_max', 256, 1, 4096),
    samplerFactor: s.number('sampler_factor', 4, 0.1, 1000),
    samplerMin: s.int('sampler_min', 16, 1, 4096),
    samplerMax: s.int('sampler_max', 512, 1, 4096),
    defaultSize: s.int('default_size', 64, 1, 1e9),
    maxPeers: s.int('max_peers', 2048, 16, 1e6),
    minKeyBits: s.int('min_key_bits', 4096, 1024, 16384),
    powBits: s.int('pow_bits', 16, 0, 32),
    maxLinks: s.int('max_links', 64, 4, 4096),
    bootstrappers: s.addressList('bootstrapper'),
    statusSeconds: s.int('status_seconds', 60, 0, 86400),
  };
}

/** l1 and l2 from the network size: both grow as the cube root of N (Brahms's sizing). */
export function sizesFor(n: number, o: RpsOptions): { view: number; samplers: number } {
  const root = Math.cbrt(Math.max(1, n));
  const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(x)));
  return {
    view: clamp(o.viewFactor * root, o.viewMin, Math.max(o.viewMin, o.viewMax)),
    samplers: clamp(o.samplerFactor * root, o.samplerMin, Math.max(o.samplerMin, o.samplerMax)),
  };
}
