// [rps] options (documented in docs/rps-protocol.md, "Configuration [rps]"), plus what RPS reads
// from the other sections: the P2P ports it advertises and the Gossip/NSE API addresses.
import { isIP } from 'node:net';
import type { HostPort } from '../../shared/address.ts';
import { listensPrivately } from '../private-address.ts';
import type { PortMapEntry } from '../../shared/wire/types.ts';
import { ModuleId } from '../../shared/wire/types.ts';
import {
  type ConfigSection,
  ConfigError,
  isUnspecified,
  type P2pEndpoint,
  type RelayConfig,
  readP2pEndpoint,
} from '../config.ts';

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

/** A module's P2P endpoint as RPS advertises it: one IP for the record, one port per module. */
function advertised(s: ConfigSection, bindDefault?: string): P2pEndpoint {
  return readP2pEndpoint(s, bindDefault);
}

/**
 * Our record carries one IP for all modules, so every P2P listener must advertise that IP: a module
 * telling peers another one is a configuration error, named where it is.
 */
function portOf(s: ConfigSection, ip: string, bindDefault?: string): number {
  const a = advertised(s, bindDefault).advertise;
  if (a.host !== ip)
    s.fail(
      'p2p_advertise',
      `${a.host} differs from [rps] p2p_advertise ${ip}: the RPS record carries one IP for every module`,
    );
  return a.port;
}

function buildPortmap(config: RelayConfig, p2p: HostPort, ip: string): PortMapEntry[] {
  const map: PortMapEntry[] = [];
  const gossip = config.section('gossip');
  if (gossip?.has('p2p_address')) map.push({ module: ModuleId.GOSSIP, port: portOf(gossip, ip) });
  const nse = config.section('nse');
  if (nse?.has('p2p_address')) map.push({ module: ModuleId.NSE, port: nse.address('p2p_address').port });
  const onion = config.section('onion');
  if (onion) {
    // An onion listener on any free port (port 0, the default) cannot be advertised.
    const port = portOf(onion, ip, '127.0.0.1:0');
    if (port) map.push({ module: ModuleId.ONION, port });
  }
  const dht = config.section('dht');
  if (dht?.has('p2p_address')) map.push({ module: ModuleId.DHT, port: portOf(dht, ip) });
  map.push({ module: RPS_MODULE_ID, port: p2p.port });
  return map;
}

/** [rps] advertise_ip: the name before p2p_advertise (one release of warnings). */
function legacyAdvertiseIp(s: ConfigSection): void {
  if (!s.has('advertise_ip')) return;
  if (s.has('p2p_advertise')) s.fail('advertise_ip', 'replaced by p2p_advertise: remove it');
  s.warn('advertise_ip', `advertise_ip is deprecated: write "p2p_advertise = ${s.string('advertise_ip')}"`);
}

function readRpsEndpoint(s: ConfigSection): P2pEndpoint {
  legacyAdvertiseIp(s);
  if (!s.has('advertise_ip')) return advertised(s);
  const bind = s.address('p2p_address');
  const ip = s.string('advertise_ip');
  if (!isIP(ip) || isUnspecified(ip)) s.fail('advertise_ip', `"${ip}" is not an IP address peers can reach`);
  return { bind, advertise: { host: ip, port: bind.port } };
}

export function readRpsOptions(config: RelayConfig): RpsOptions {
  const s = config.section('rps');
  if (!s) throw new ConfigError(`${config.file}: [rps] section missing`);
  const { bind: p2pAddress, advertise } = readRpsEndpoint(s);
  const advertiseIp = advertise.host;
  const portmap = buildPortmap(config, advertise, advertiseIp);
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
