// [bridge] options (documented in docs/bridge-protocol.md "Configuration [bridge]").
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { formatAddress, type HostPort } from '../../shared/address.ts';
import { type RelayConfig, readP2pEndpoint } from '../config.ts';

export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:7080';
const DEFAULT_CLIENT_DIR = fileURLToPath(new URL('../../dist/client', import.meta.url));
/** Must equal the onion module's default for round_seconds. */
export const DEFAULT_ROUND_SECONDS = 60;

export interface BridgeOptions {
  http: HostPort;
  token: string;
  clientDir: string;
  allowedOrigins: Set<string>;
  maxClients: number;
  maxFrameBytes: number;
  /** Hostkey signatures per second for the whole bridge (one bucket shared by all sessions, burst 2x). */
  signPerSecond: number;
  validatePresence: boolean;
  gossipApi?: HostPort;
  onionApi?: HostPort;
  /** The onion module's P2P address: where friends build tunnels to. */
  onionP2p?: HostPort;
  roundSeconds: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Origins allowed by default: the bridge's own address, plus localhost for a loopback bind. */
export function defaultOrigins(http: HostPort): string[] {
  const out = [`http://${formatAddress(http)}`];
  if (LOOPBACK.has(http.host)) out.push(`http://localhost:${http.port}`, `http://127.0.0.1:${http.port}`);
  return out;
}

export function readOptions(config: RelayConfig): BridgeOptions {
  const s = config.section('bridge')!;
  const http = s.address('http_address', DEFAULT_HTTP_ADDRESS);
  const token = s.optionalString('token') ?? randomBytes(18).toString('base64url');
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(token))
    s.fail('token', 'must be 16..128 characters of A-Z a-z 0-9 _ -');
  const origins = s.optionalString('allowed_origins');
  const gossip = config.section('gossip');
  const onion = config.section('onion');
  // Presence tells friends the onion address peers reach us at, never the bound 0.0.0.0.
  const onionP2p = onion ? readP2pEndpoint(onion, '127.0.0.1:0').advertise : undefined;
  return {
    http,
    token,
    clientDir: s.path('client_dir', DEFAULT_CLIENT_DIR),
    allowedOrigins: new Set(origins ? origins.split(/[\s,]+/).filter(Boolean) : defaultOrigins(http)),
    maxClients: s.int('max_clients', 8, 1, 1024),
    maxFrameBytes: s.int('max_frame_bytes', 65535, 64, 65535),
    signPerSecond: s.number('sign_per_second', 10, 0.1, 1000),
    validatePresence: s.bool('validate_presence', true),
    gossipApi: gossip?.has('api_address') ? gossip.address('api_address') : undefined,
    onionApi: onion?.has('api_address') ? onion.address('api_address') : undefined,
    onionP2p: onionP2p?.port ? onionP2p : undefined,
    roundSeconds: onion
      ? onion.number('round_seconds', DEFAULT_ROUND_SECONDS, 1, 3600)
      : DEFAULT_ROUND_SECONDS,
  };
}
