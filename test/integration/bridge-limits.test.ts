// The bridge's resource limits against real sockets: a page that pings but never reads is closed
// once 4 MiB are queued for it; hostkey signatures are budgeted for the whole bridge (a new
// WebSocket brings no fresh burst) and computed off the event loop.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { create } from '../../relay/bridge/index.ts';
import { SIGN_PREFIX } from '../../relay/bridge/sign.ts';
import { parseConfigText } from '../../relay/config.ts';
import { type Hostkey, loadHostkey, verifySignature } from '../../relay/hostkey.ts';
import type { RelayModule } from '../../relay/module.ts';
import { DEFAULT_ROUND_SECONDS } from '../../relay/bridge/options.ts';
import { encodeSignedPresence, PRESENCE_VERSION } from '../../shared/presence/layout.ts';
import { getKeys } from '../keypool.ts';
import { logCapture } from '../log-capture.ts';

const { log, lines } = logCapture(true);

const TOKEN = 'test-token-limits-0123456789';
let bridge: RelayModule;
let base: string;
let hostkey: Hostkey;
const calls = { sign: 0, signAsync: 0 };

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-limits-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>VoidPhone</title>');
  const [pem] = await getKeys(1);
  hostkey = await loadHostkey(pem!);
  // The real hostkey, counting which signing path the bridge takes.
  const counted: Hostkey = {
    ...hostkey,
    sign: (d) => {
      calls.sign++;
      return hostkey.sign(d);
    },
    signAsync: (d) => {
      calls.signAsync++;
      return hostkey.signAsync(d);
    },
  };
  // No [gossip]/[onion]: sessions only speak the control protocol, which is what is tested here.
  const ini = `hostkey = ${pem}
[bridge]
http_address = 127.0.0.1:0
token = ${TOKEN}
client_dir = ${dir}
sign_per_second = 0.5
`;
  bridge = await create({ config: parseConfigText(join(dir, 'relay.ini'), ini), hostkey: counted, log });
  base = `127.0.0.1:${bridge.listening.http!.split(':')[1]}`;
});

afterAll(async () => {
  await bridge?.stop();
});

interface Client {
  ws: WebSocket;
  json: Record<string, unknown>[];
  /** Resolves with the next JSON message that `match`es (already received ones included). */
  next(match: (m: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

function open(): Promise<Client> {
  const ws = new WebSocket(`ws://${base}/ws?token=${TOKEN}`, { origin: `http://${base}` });
  const json: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  const next: Client['next'] = (match, what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000);
      const check = () => {
        const m = json.find(match);
        if (!m) return void waiters.push(check);
        clearTimeout(timer);
        resolve(m);
      };
      check();
    });
  ws.on('message', (data, binary) => {
    if (binary) return;
    json.push(JSON.parse(String(data)));
    for (const w of waiters.splice(0)) w();
  });
  const c: Client = { ws, json, next, closed };
  return c.next((m) => m.t === 'hello', 'hello').then(() => c);
}

/** A presence record of the current round (the only kind the bridge signs as presence), told apart by id. */
function presenceData(id: number): Buffer {
  const roundMs = DEFAULT_ROUND_SECONDS * 1000;
  const round = Math.floor(Date.now() / roundMs);
  const header = {
    version: PRESENCE_VERSION,
    round,
    tag: new Uint8Array(16).fill(id),
    nonce: new Uint8Array(24),
  };
  return Buffer.from(
    encodeSignedPresence({ header, timestamp: round * roundMs, host: '127.0.0.1', port: 1 }),
  );
}

const sign = (c: Client, id: number) =>
  c.ws.send(
    JSON.stringify({ t: 'sign', id, purpose: 'presence', data: presenceData(id).toString('base64url') }),
  );

describe('bridge: signing budget', () => {
  it('is shared by all sessions (a new WebSocket gets no fresh burst) and signs off the event loop', async () => {
    // sign_per_second 0.5: a burst of one signature for the whole bridge, then one per 2 s.
    const a = await open();
    sign(a, 1);
    const signed = await a.next((m) => m.id === 1, 'answer to sign 1');
    expect(signed.t).toBe('signed');
    const tbs = Buffer.concat([Buffer.from(SIGN_PREFIX.presence), presenceData(1)]);
    expect(verifySignature(hostkey.spkiDer, tbs, Buffer.from(String(signed.sig), 'base64url'))).toBe(true);
    const b = await open();
    sign(b, 2);
    expect(await b.next((m) => m.id === 2, 'answer to sign 2')).toMatchObject({
      t: 'error',
      code: 'rate-limited',
    });
    expect(calls).toEqual({ sign: 0, signAsync: 1 });
    a.ws.close();
    b.ws.close();
  });
});

describe('bridge: a page that does not read', () => {
  it('is closed (1008, logged) once more than 4 MiB of replies are queued for it', async () => {
    const c = await open();
    // Stop reading: the relay's replies pile up in its socket and then in the WebSocket's queue.
    c.ws.pause();
    const PINGS = 8000; // ~33 MB of pongs: far beyond 4 MiB plus the kernel's socket buffers
    const id = 'x'.repeat(4000);
    for (let i = 0; i < PINGS; i++) c.ws.send(JSON.stringify({ t: 'ping', id }));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('relay never gave up on the page')), 20_000);
      const check = () => {
        if (!lines.some((l) => /browser not reading/.test(l))) return void setTimeout(check, 20);
        clearTimeout(timer);
        resolve();
      };
      check();
    });
    // Reading again, the page finds fewer pongs than pings, then the close.
    c.ws.resume();
    const { code, reason } = await c.closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/browser not reading/);
    expect(c.json.filter((m) => m.t === 'pong').length).toBeLessThan(PINGS);
  }, 30_000);
});
