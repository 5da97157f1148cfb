// Serves the built client (dist/client) read-only: GET/HEAD, no directory listing, no path escape.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.wav': 'audio/wav',
  '.txt': 'text/plain; charset=utf-8',
};

/** Headers for every response: a strict CSP (scripts only from here, sockets only to here). */
export function securityHeaders(wsOrigin: string): Record<string, string> {
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self' 'wasm-unsafe-eval'",
      "style-src 'self' 'unsafe-inline'",
      `connect-src 'self' ${wsOrigin}`,
      "img-src 'self' data: blob:",
      "media-src 'self' blob:",
      "worker-src 'self' blob:",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    // Isolation lets the audio code (issue 8) use SharedArrayBuffer with an AudioWorklet.
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cache-Control': 'no-store',
  };
}

export async function serveStatic(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string>,
): Promise<string | null> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
    return `method ${req.method} not allowed`;
  }
  let path: string;
  let raw: string;
  try {
    // The URL parser would quietly resolve dot segments; refuse them outright instead.
    raw = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    res.writeHead(400, headers).end();
    return 'bad URL encoding';
  }
  if (raw.includes('\0') || raw.split(/[/\\]/).includes('..')) {
    res.writeHead(400, headers).end();
    return 'path escape attempt';
  }
  if (path === '/' || path === '') path = '/index.html';
  const file = normalize(join(root, path));
  if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) {
    res.writeHead(400, headers).end();
    return 'path escape attempt';
  }
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) {
    const missing = path === '/index.html';
    res.writeHead(missing ? 503 : 404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(missing ? 'The client is not built yet: run "npm run build:client".\n' : 'Not found\n');
    return null;
  }
  res.writeHead(200, {
    ...headers,
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': String(info.size),
  });
  if (req.method === 'HEAD') {
    res.end();
    return null;
  }
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
  return null;
}
