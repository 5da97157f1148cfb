// The bridge's exposure (issue 14, issue 16): its token never reaches a log line (url_file keeps the
// link, mode 0600), a non-loopback http_address without TLS refuses to start unless the operator
// says so, and with tls_cert/tls_key it serves https and wss (self-signed cert made by openssl here).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { create } from '../../relay/bridge/index.ts';
import { readOptions } from '../../relay/bridge/options.ts';
import { ConfigError, parseConfigText } from '../../relay/config.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import type { RelayModule } from '../../relay/module.ts';
import { getKeys } from '../keypool.ts';
import { logCapture } from '../log-capture.ts';

const TOKEN = 'secret-token-0123456789abcdefXYZ';
const [pem] = await getKeys(1);
const hostkey = await loadHostkey(pem!);
type Bridge = RelayModule & { token: string; url: string };
const running: Bridge[] = [];
afterEach(async () => {
  for (const b of running.splice(0)) await b.stop();
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-exposure-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>VoidPhone</title>');
  return dir;
}

function config(dir: string, bridge: string) {
  return parseConfigText(
    join(dir, 'relay.ini'),
    `hostkey = ${pem}\n[bridge]\nclient_dir = ${dir}\n${bridge}\n`,
  );
}

/** A WebSocket attempt; resolves with 'open' or the HTTP status it was refused with. */
function tryWs(url: string, origin: string, ca?: Buffer): Promise<'open' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { origin, ca });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(0));
  });
}

describe('bridge token', () => {
  it('never appears in a log line; url_file holds the link, mode 0600', async () => {
    const dir = folder();
    const urlFile = join(dir, 'client-url');
    writeFileSync(urlFile, 'old, world-readable\n', { mode: 0o644 });
    const { log, lines } = logCapture(true);
    const b = (await create({
      config: config(dir, `http_address = 127.0.0.1:0\ntoken = ${TOKEN}\nurl_file = client-url`),
      hostkey,
      log,
    })) as Bridge;
    running.push(b);
    const base = b.listening.http!;
    // Every path a request with the token can take: right, wrong origin, GET without upgrade, a
    // path escape carrying the token in its query, wrong token.
    expect(await tryWs(`ws://${base}/ws?token=${TOKEN}`, `http://${base}`)).toBe('open');
    expect(await tryWs(`ws://${base}/ws?token=${TOKEN}`, 'http://evil.example')).toBe(403);
    expect(await tryWs(`ws://${base}/nows?token=${TOKEN}`, `http://${base}`)).toBe(404);
    expect(await tryWs(`ws://${base}/ws?token=x${TOKEN}`, `http://${base}`)).toBe(401);
    await fetch(`http://${base}/..%2f..?token=${TOKEN}`).catch(() => {});
    await fetch(`http://${base}/%2e%2e/x?token=${TOKEN}`).catch(() => {});
    await b.stop();
    running.length = 0;
    expect(lines.some((l) => /refused GET/.test(l))).toBe(true); // the escapes were logged...
    expect(lines.filter((l) => l.includes(TOKEN))).toEqual([]); // ...but no line holds the token
    expect(lines.join('\n')).toMatch(/client at http:\/\/127\.0\.0\.1:\d+\/ \(link with its token in/);
    expect(readFileSync(urlFile, 'utf8').trim()).toBe(b.url);
    expect(b.url).toContain(`#token=${TOKEN}`);
    expect(statSync(urlFile).mode & 0o777).toBe(0o600);
  });
});

describe('bridge beyond loopback', () => {
  it('a non-loopback http_address without TLS is a config error naming file, section and key', () => {
    const dir = folder();
    const fail = (extra: string) => {
      try {
        readOptions(config(dir, `http_address = 198.18.0.1:7080\n${extra}`));
        return 'started';
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
    };
    expect(fail('')).toMatch(
      /relay\.ini: \[bridge\] http_address: 198\.18\.0\.1:7080 is not a loopback address/,
    );
    expect(fail('allow_insecure_remote = true')).toBe('started');
    expect(fail('tls_cert = nope.pem')).toMatch(/\[bridge\] tls_key: missing/);
    expect(fail('tls_cert = nope.pem\ntls_key = nope.key')).toMatch(
      /\[bridge\] tls_cert: cannot read .*nope\.pem: ENOENT/,
    );
    expect(readOptions(config(dir, 'http_address = 127.0.0.2:7080')).http.host).toBe('127.0.0.2');
  });

  it('with tls_cert and tls_key: https and wss, https origins; a mismatched pair is refused', async () => {
    const dir = folder();
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    );
    openssl('genrsa', '-out', 'other.pem', '2048');
    expect(() => readOptions(config(dir, 'tls_cert = cert.pem\ntls_key = other.pem'))).toThrow(
      /\[bridge\] tls_key: not a usable certificate and key pair/,
    );
    const { log } = logCapture();
    const b = (await create({
      config: config(
        dir,
        `http_address = 127.0.0.1:0\ntoken = ${TOKEN}\ntls_cert = cert.pem\ntls_key = key.pem`,
      ),
      hostkey,
      log,
    })) as Bridge;
    running.push(b);
    const base = b.listening.http!;
    const ca = readFileSync(join(dir, 'cert.pem'));
    expect(b.url).toBe(`https://${base}/#token=${TOKEN}`);
    const page = await new Promise<{ status: number; csp: string }>((resolve, reject) => {
      const req = httpsRequest(`https://${base}/`, { ca }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, csp: String(res.headers['content-security-policy']) });
      });
      req.on('error', reject);
      req.end();
    });
    expect(page.status).toBe(200);
    expect(page.csp).toContain(`wss://${base}`);
    expect(await tryWs(`wss://${base}/ws?token=${TOKEN}`, `https://${base}`, ca)).toBe('open');
    expect(await tryWs(`wss://${base}/ws?token=${TOKEN}`, `http://${base}`, ca)).toBe(403);
  });
});
