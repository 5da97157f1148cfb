// [bridge] options (documented in docs/bridge-protocol.md "Configuration [bridge]").
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
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
  /**
   * Where to write the client link with its token (mode 0600), for a relay run as a service: the
   * token never goes into a log line, and a service's stdout is a log (the journal).
   */
  urlFile?: string;
  /** PEM certificate chain and key: the bridge serves https/wss (needed beyond loopback). */
  tls?: { cert: Buffer; key: Buffer };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** 127.0.0.0/8, ::1, localhost: only this machine can reach the bridge, and browsers trust it. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Origins allowed by default: the bridge's own address, plus localhost for a loopback bind. */
export function defaultOrigins(http: HostPort, scheme: 'http' | 'https' = 'http'): string[] {
  const out = [`${scheme}://${formatAddress(http)}`];
  if (LOOPBACK.has(http.host))
    out.push(`${scheme}://localhost:${http.port}`, `${scheme}://127.0.0.1:${http.port}`);
  return out;
}

type Section = NonNullable<ReturnType<RelayConfig['section']>>;

/** tls_cert and tls_key, both or neither, read and checked now so a bad pair stops the start. */
function readTls(s: Section): BridgeOptions['tls'] {
  if (!s.has('tls_cert') && !s.has('tls_key')) return undefined;
  if (!s.has('tls_cert')) s.fail('tls_cert', 'missing: tls_key is set, tls_cert must be too');
  if (!s.has('tls_key')) s.fail('tls_key', 'missing: tls_cert is set, tls_key must be too');
  const read = (key: string) => {
    const file = s.path(key);
    try {
      return readFileSync(file);
    } catch (e) {
      return s.fail(key, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const tls = { cert: read('tls_cert'), key: read('tls_key') };
  try {
    createSecureContext(tls);
  } catch (e) {
    s.fail('tls_key', `not a usable certificate and key pair: ${(e as Error).message}`);
  }
  return tls;
}

export function readOptions(config: RelayConfig): BridgeOptions {
  const s = config.section('bridge')!;
  const http = s.address('http_address', DEFAULT_HTTP_ADDRESS);
  const tls = readTls(s);
  const insecureOk = s.bool('allow_insecure_remote', false);
  // Beyond loopback, plain http shows the token and the calls' signalling to the network, and the
  // page gets no secure context (no microphone, no WebCrypto): refuse unless the operator says so.
  if (!isLoopbackHost(http.host) && !tls && !insecureOk)
    s.fail(
      'http_address',
      `${formatAddress(http)} is not a loopback address: set tls_cert and tls_key (https), or ` +
        'allow_insecure_remote = true if something else (a TLS proxy, an ssh tunnel) protects it',
    );
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
    allowedOrigins: new Set(
      origins ? origins.split(/[\s,]+/).filter(Boolean) : defaultOrigins(http, tls ? 'https' : 'http'),
    ),
    maxClients: s.int('max_clients', 8, 1, 1024),
    maxFrameBytes: s.int('max_frame_bytes', 65535, 64, 65535),
    signPerSecond: s.number('sign_per_second', 10, 0.1, 1000),
    validatePresence: s.bool('validate_presence', true),
    gossipApi: gossip?.has('api_address') ? gossip.address('api_address') : undefined,
    onionApi: onion?.has('api_address') ? onion.address('api_address') : undefined,
    onionP2p: onionP2p?.port ? onionP2p : undefined,
    tls,
    urlFile: s.optionalString('url_file') === undefined ? undefined : s.path('url_file'),
    roundSeconds: onion
      ? onion.number('round_seconds', DEFAULT_ROUND_SECONDS, 1, 3600)
      : DEFAULT_ROUND_SECONDS,
  };
}
