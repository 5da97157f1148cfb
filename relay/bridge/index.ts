// The bridge: serves the built browser client and a WebSocket endpoint through which each browser
// talks to this relay's Gossip and Onion APIs (as an ordinary API client) and asks for hostkey
// signatures (domain-separated). Safe by default: loopback bind, a random token required on the
// upgrade, Origin and Host checked, frame sizes capped, each refusal logged with its reason.
import { timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { formatAddress } from '../../shared/address.ts';
import type { ModuleFactory } from '../module.ts';
import { TokenBucket } from '../p2p/ratelimit.ts';
import { readOptions } from './options.ts';
import { startPresenceValidator } from './presence-check.ts';
import { BridgeSession, describeApi } from './session.ts';
import { securityHeaders, serveStatic } from './static.ts';

function pathOf(url: string | undefined): string {
  const q = (url ?? '').search(/[?#]/);
  return q < 0 ? (url ?? '') : url!.slice(0, q);
}

/** Writes a file only its owner can read, replacing it if present (chmod first: no readable window). */
function writeSecretFile(file: string, text: string): void {
  if (existsSync(file)) chmodSync(file, 0o600);
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function tokenOk(given: string | null, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const create: ModuleFactory = async ({ config, hostkey, log }) => {
  const opts = readOptions(config);
  const sessions = new Set<BridgeSession>();
  // One signing budget for the whole bridge (see BridgeSession): more sessions, no more signatures.
  const signTokens = new TokenBucket(opts.signPerSecond, 2 * opts.signPerSecond);
  let nextId = 1;
  let origin = '';
  let headers: Record<string, string> = {};
  const allowedHosts = () => new Set([...opts.allowedOrigins].map((o) => o.replace(/^https?:\/\//, '')));

  const scheme = opts.tls ? 'https' : 'http';
  const onRequest: RequestListener = (req, res) => {
    serveStatic(opts.clientDir, req, res, headers)
      .then(
        (refused) =>
          refused &&
          log.info(
            // The path only: a query may hold the token (a GET /ws?token=… without an upgrade).
            `http ${req.socket.remoteAddress}: refused ${req.method} ${pathOf(req.url).slice(0, 80)}: ${refused}`,
          ),
      )
      .catch((e) => {
        log.warn(`http: ${(e as Error).message}`);
        res.destroy();
      });
  };
  // With tls_cert/tls_key: https and wss, so a browser on another device gets a secure context.
  const server = opts.tls ? createHttpsServer(opts.tls, onRequest) : createServer(onRequest);
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes });

  const refuse = (socket: Duplex, req: IncomingMessage, status: number, text: string, why: string) => {
    log.warn(`websocket from ${req.socket.remoteAddress} refused: ${why}`);
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/ws')
      return refuse(socket, req, 404, 'Not Found', `path ${url.pathname.slice(0, 40)}`);
    if (!tokenOk(url.searchParams.get('token'), opts.token))
      return refuse(socket, req, 401, 'Unauthorized', 'missing or wrong token');
    const from = req.headers.origin;
    if (!from || !opts.allowedOrigins.has(from))
      return refuse(
        socket,
        req,
        403,
        'Forbidden',
        `origin ${JSON.stringify(from ?? null).slice(0, 80)} not allowed`,
      );
    if (!req.headers.host || !allowedHosts().has(req.headers.host))
      return refuse(
        socket,
        req,
        403,
        'Forbidden',
        `host ${String(req.headers.host).slice(0, 80)} not allowed`,
      );
    if (sessions.size >= opts.maxClients)
      return refuse(socket, req, 503, 'Service Unavailable', `${sessions.size} clients (max_clients)`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const s = new BridgeSession(nextId++, ws, opts, hostkey, log, signTokens);
      sessions.add(s);
      ws.on('close', (code, reason) => {
        sessions.delete(s);
        log.info(
          `client ${s.id} disconnected (${code}${reason.length ? ` ${reason.toString().slice(0, 80)}` : ''})`,
        );
      });
      log.info(`client ${s.id} connected from ${req.socket.remoteAddress}`);
      void s.start();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.http.port, opts.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.error(`http server: ${e.message}`));
  const port = (server.address() as import('node:net').AddressInfo).port;
  const http = { host: opts.http.host, port };
  const address = formatAddress(http);
  if (opts.http.port === 0)
    for (const o of [`${scheme}://${address}`, `${scheme}://localhost:${port}`]) opts.allowedOrigins.add(o);
  origin = `${scheme}://${address}`;
  headers = securityHeaders(`${opts.tls ? 'wss' : 'ws'}://${address}`);
  const validator =
    opts.validatePresence && opts.gossipApi
      ? startPresenceValidator(opts.gossipApi, opts.roundSeconds * 1000, log, () => sessions.size === 0)
      : null;
  const url = `${origin}/#token=${opts.token}`;
  // The token is never logged (issue 14): main.ts prints the link on a terminal, url_file keeps it.
  if (opts.urlFile) writeSecretFile(opts.urlFile, `${url}\n`);
  log.info(
    `bridge for ${describeApi(opts)}; client at ${origin}/ (${
      opts.urlFile ? `link with its token in ${opts.urlFile}, mode 0600` : 'link with its token not logged'
    })`,
  );

  return {
    name: 'bridge',
    listening: { http: address },
    /** Not part of RelayModule: what relay/dev/start.ts and tests use to build client URLs. */
    token: opts.token,
    url,
    async stop() {
      validator?.stop();
      for (const s of sessions) s.close(1001, 'relay stopping');
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  } as import('../module.ts').RelayModule & { token: string; url: string };
};
