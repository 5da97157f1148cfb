// The bridge against real sockets: fake Gossip and Onion API servers (the spec's API is the seam),
// a real HTTP/WebSocket server, and `ws` clients standing in for browsers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startApiServer, type ApiServer } from '../../relay/api/server.ts';
import type { ApiConnection } from '../../relay/api/types.ts';
import { create } from '../../relay/bridge/index.ts';
import { PRESENCE_DATA_TYPE, PRESENCE_RECORD_BYTES } from '../../relay/bridge/presence-check.ts';
import { checkPresenceShape, encodeSignedPresence, PRESENCE_VERSION } from '../../shared/presence/layout.ts';
import { SIGN_PREFIX } from '../../relay/bridge/sign.ts';
import { answerTranscript, type OfferFields, offerTranscript } from '../../shared/call-transcript.ts';
import { identityOf } from '../../shared/identity.ts';
import { encodeOffer } from '../../client/src/lib/calls/wire.ts';
import { parseConfigText } from '../../relay/config.ts';
import { loadHostkey, verifySignature } from '../../relay/hostkey.ts';
import type { Logger } from '../../relay/log.ts';
import type { RelayModule } from '../../relay/module.ts';
import { decodeMessage, encodeMessage } from '../../shared/wire/index.ts';
import type { ApiMessage } from '../../shared/wire/types.ts';
import { getKeys } from '../keypool.ts';

const lines: string[] = [];
const log: Logger = {
  debug: () => {},
  info: (m) => lines.push(m),
  warn: (m) => lines.push(m),
  error: (m) => lines.push(m),
  child: () => log,
};

interface Fake {
  server: ApiServer;
  got: ApiMessage[];
  conns: ApiConnection[];
}
async function fakeModule(name: string, accepts: number[]): Promise<Fake> {
  const f: Fake = { got: [], conns: [], server: undefined as unknown as ApiServer };
  f.server = await startApiServer({
    module: name,
    address: { host: '127.0.0.1', port: 0 },
    log,
    handler: {
      accepts: new Set(accepts),
      onConnect: (c) => f.conns.push(c),
      onMessage: (_c, m) => void f.got.push(m),
    },
  });
  return f;
}

let gossip: Fake;
let onion: Fake;
let bridge: RelayModule & { token: string; url: string };
let base: string;
let hostkeySpki: Uint8Array;
const TOKEN = 'test-token-0123456789abcdef';

beforeAll(async () => {
  gossip = await fakeModule('gossip', [500, 501, 503]);
  onion = await fakeModule('onion', [560, 563, 564, 566]);
  const dir = mkdtempSync(join(tmpdir(), 'bridge-test-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>VoidPhone</title>');
  const [pem] = await getKeys(1);
  const hk = await loadHostkey(pem!);
  hostkeySpki = hk.spkiDer;
  const ini = `hostkey = ${pem}
[gossip]
api_address = ${gossip.server.address}
[onion]
api_address = ${onion.server.address}
p2p_hostname = 127.0.0.1
p2p_port = 4711
round_seconds = 10
[bridge]
http_address = 127.0.0.1:0
token = ${TOKEN}
client_dir = ${dir}
sign_per_second = 2
`;
  const config = parseConfigText(join(dir, 'relay.ini'), ini);
  bridge = (await create({ config, hostkey: hk, log })) as typeof bridge;
  base = `127.0.0.1:${bridge.listening.http!.split(':')[1]}`;
});

afterAll(async () => {
  await bridge?.stop();
  await gossip?.server.close();
  await onion?.server.close();
});

interface Client {
  ws: WebSocket;
  hello: Record<string, unknown>;
  json: Record<string, unknown>[];
  api: ApiMessage[];
  closed: Promise<{ code: number; reason: string }>;
}

function open(opts: { token?: string | null; origin?: string | null; path?: string } = {}): Promise<Client> {
  const token = opts.token === undefined ? TOKEN : opts.token;
  const q = token === null ? '' : `?token=${token}`;
  const ws = new WebSocket(`ws://${base}${opts.path ?? '/ws'}${q}`, {
    origin: opts.origin === null ? undefined : (opts.origin ?? `http://${base}`),
  });
  const c: Client = { ws, hello: {}, json: [], api: [], closed: undefined as never };
  c.closed = new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no hello')), 5000);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    ws.on('error', (e) => reject(e));
    ws.on('message', (data, binary) => {
      if (binary) return void c.api.push(decodeMessage(new Uint8Array(data as Buffer)));
      const m = JSON.parse(String(data));
      if (m.t === 'hello') {
        c.hello = m;
        clearTimeout(timer);
        resolve(c);
      } else c.json.push(m);
    });
  });
}

async function until<T>(fn: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function rawGet(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(base.split(':')[1]), path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const logged = (re: RegExp) => until(() => lines.find((l) => re.test(l)), `log line ${re}`);

describe('bridge: HTTP', () => {
  it('serves the client with a strict CSP, refuses path escapes and writes', async () => {
    const res = await fetch(`http://${base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('VoidPhone');
    expect(res.headers.get('content-security-policy')).toContain(`connect-src 'self' ws://${base}`);
    // fetch normalises dot segments away, so send the raw request line.
    for (const path of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/a/%00'])
      expect(await rawGet(path)).toBe(400);
    expect((await fetch(`http://${base}/nope.js`)).status).toBe(404);
    expect((await fetch(`http://${base}/`, { method: 'POST' })).status).toBe(405);
    await logged(/refused POST/);
  });
});

describe('bridge: WebSocket upgrade', () => {
  it('refuses a missing or wrong token, a foreign or missing Origin, another path', async () => {
    await expect(open({ token: null })).rejects.toThrow('HTTP 401');
    await expect(open({ token: 'x'.repeat(TOKEN.length) })).rejects.toThrow('HTTP 401');
    await expect(open({ origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(open({ origin: null })).rejects.toThrow('HTTP 403');
    await expect(open({ path: '/other' })).rejects.toThrow('HTTP 404');
    await logged(/refused: missing or wrong token/);
    await logged(/refused: origin "http:\/\/evil.example" not allowed/);
  });

  it('says hello: identity, hostkey, onion address, round timing', async () => {
    const c = await open();
    expect(c.hello).toMatchObject({
      v: 1,
      hostkey: Buffer.from(hostkeySpki).toString('base64url'),
      onion: { host: '127.0.0.1', port: 4711 },
      round: { seconds: 10 },
      modules: { gossip: true, onion: true },
    });
    expect(c.hello.identity).toMatch(/^[0-9a-f]{64}$/);
    c.ws.close();
  });
});

describe('bridge: relaying API messages', () => {
  it('routes each binary frame to its module and the replies back', async () => {
    const c = await open();
    c.ws.send(encodeMessage({ type: 501, dataType: PRESENCE_DATA_TYPE }));
    c.ws.send(encodeMessage({ type: 560, port: 9, address: '127.0.0.1', hostkey: hostkeySpki }));
    await until(() => gossip.got.find((m) => m.type === 501), 'NOTIFY at gossip');
    await until(() => onion.got.find((m) => m.type === 560), 'BUILD at onion');
    // Reply on the newest onion connection (the one this browser got).
    onion.conns.at(-1)!.send({ type: 561, tunnelId: 7, hostkey: hostkeySpki });
    const ready = await until(() => c.api.find((m) => m.type === 561), 'READY in the browser');
    expect(ready).toMatchObject({ tunnelId: 7 });
    c.ws.close();
  });

  it('closes a client that sends a malformed, oversized or forbidden frame; others are unaffected', async () => {
    const bystander = await open();
    const cases: [Uint8Array, number, RegExp][] = [
      [Uint8Array.of(0, 8, 1, 244, 0, 0), 1008, /malformed API message/], // size says 8, 6 bytes
      [Uint8Array.of(0, 4, 0x12, 0x34), 1008, /malformed API message: UNKNOWN_TYPE/],
      [
        encodeMessage({ type: 502, messageId: 1, dataType: 1, data: new Uint8Array(1) }),
        1008,
        /type 502 not allowed/,
      ],
      [
        encodeMessage({
          type: 650,
          ttl: 1,
          replication: 1,
          key: new Uint8Array(32),
          value: Uint8Array.of(1),
        }),
        1008,
        /650 not allowed/,
      ],
      [new Uint8Array(70_000), 1009, /Max payload size exceeded|websocket error/i],
    ];
    for (const [frame, code, why] of cases) {
      const c = await open();
      c.ws.send(frame);
      expect((await c.closed).code).toBe(code);
      await logged(why);
    }
    const bad = await open();
    bad.ws.send('{"t":"sign","id":1,"purpose":"anything","data":""}');
    expect((await bad.closed).code).toBe(1008);
    await logged(/bad sign request/);
    const bad2 = await open();
    bad2.ws.send('not json');
    expect((await bad2.closed).code).toBe(1008);
    // The bystander still works.
    bystander.ws.send(encodeMessage({ type: 503, messageId: 3, valid: true }));
    await until(
      () => gossip.got.find((m) => m.type === 503 && m.messageId === 3),
      'VALIDATION from bystander',
    );
    expect(bystander.ws.readyState).toBe(WebSocket.OPEN);
    bystander.ws.close();
  });
});

describe('bridge: signing', () => {
  /** What a client asks the bridge to sign for a presence record of `round` (round_seconds = 10). */
  const presenceToSign = (round: number) =>
    Buffer.from(
      encodeSignedPresence({
        header: { version: PRESENCE_VERSION, round, tag: new Uint8Array(16), nonce: new Uint8Array(24) },
        timestamp: round * 10_000 + 1,
        host: '127.0.0.1',
        port: 4711,
      }),
    );

  it('signs presence only for the current or next round, and says why it refuses', async () => {
    const c = await open();
    const now = Math.floor(Date.now() / 10_000);
    const ask = (id: number, data: Buffer) =>
      c.ws.send(JSON.stringify({ t: 'sign', id, purpose: 'presence', data: data.toString('base64url') }));
    ask(1, presenceToSign(now + 1));
    ask(2, presenceToSign(now + 30)); // 5 minutes ahead: pre-signing for later
    ask(3, presenceToSign(now - 2));
    ask(4, Buffer.from('hello presence'));
    await until(() => c.json.find((m) => m.t === 'signed' && m.id === 1), 'next round signed');
    for (const id of [2, 3, 4]) {
      const e = await until(() => c.json.find((m) => m.id === id), `answer ${id}`);
      expect(e).toMatchObject({ t: 'error', code: 'refused' });
    }
    expect(String(c.json.find((m) => m.id === 2)!.reason)).toMatch(/only the current .* or next round/);
    await logged(/sign request refused: presence for round/);
    c.ws.close();
  });

  it('signs prefix || data for a purpose, caps size and rate', async () => {
    const c = await open();
    const data = presenceToSign(Math.floor(Date.now() / 10_000));
    // The bucket is shared by the whole bridge: the test before may have emptied it.
    await new Promise((r) => setTimeout(r, 1000));
    c.ws.send(JSON.stringify({ t: 'sign', id: 1, purpose: 'presence', data: data.toString('base64url') }));
    const signed = await until(() => c.json.find((m) => m.t === 'signed' && m.id === 1), 'signature');
    const sig = Buffer.from(String(signed.sig), 'base64url');
    expect(verifySignature(hostkeySpki, Buffer.concat([Buffer.from(SIGN_PREFIX.presence), data]), sig)).toBe(
      true,
    );
    expect(verifySignature(hostkeySpki, data, sig)).toBe(false);
    for (let id = 2; id < 8; id++) c.ws.send(JSON.stringify({ t: 'sign', id, purpose: 'call', data: '' }));
    await until(() => c.json.find((m) => m.t === 'error' && m.code === 'rate-limited'), 'rate limit');
    c.ws.send(
      JSON.stringify({ t: 'sign', id: 9, purpose: 'call', data: Buffer.alloc(1025).toString('base64url') }),
    );
    expect((await c.closed).code).toBe(1008);
  });
});

describe('bridge: what it signs for a call (issue 14)', () => {
  let nextId = 100;
  /** One sign request; 'rate-limited' answers are retried (the bucket is shared with other tests). */
  async function sign(c: Client, data: Uint8Array): Promise<'signed' | 'refused'> {
    for (;;) {
      const id = nextId++;
      c.ws.send(
        JSON.stringify({ t: 'sign', id, purpose: 'call', data: Buffer.from(data).toString('base64url') }),
      );
      const m = await until(() => c.json.find((j) => j.id === id), `answer to sign ${id}`);
      if (m.t === 'signed') return 'signed';
      if (m.code === 'refused') return 'refused';
      expect(m.code).toBe('rate-limited');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const me = () => identityOf(hostkeySpki);
  const friend = new Uint8Array(32).fill(7);
  const offer = (o: Partial<OfferFields>): OfferFields => ({
    callId: Uint8Array.from(randomBytes(8)),
    timestamp: Date.now(),
    callerEph: new Uint8Array(32).fill(1),
    callerIdentity: me(),
    calleeIdentity: friend,
    ...o,
  });

  it('signs an offer dated now; refuses one dated 10 minutes away, or from another caller, or junk', async () => {
    const c = await open();
    expect(await sign(c, offerTranscript(offer({})))).toBe('signed');
    expect(await sign(c, offerTranscript(offer({ timestamp: Date.now() + 600_000 })))).toBe('refused');
    expect(await sign(c, offerTranscript(offer({ timestamp: Date.now() - 600_000 })))).toBe('refused');
    expect(await sign(c, offerTranscript(offer({ callerIdentity: friend })))).toBe('refused');
    expect(await sign(c, Buffer.from('anything at all'))).toBe('refused');
    await logged(/call sign request refused: offer dated \d+ s from now/);
    c.ws.close();
  });

  it('signs an answer only to an offer it delivered to this browser, and only once', async () => {
    const c = await open();
    const delivered = offer({ callerIdentity: friend, calleeIdentity: me() });
    const never = offer({ callerIdentity: friend, calleeIdentity: me() });
    const eph = new Uint8Array(32).fill(9);
    expect(await sign(c, answerTranscript(never, eph))).toBe('refused');
    const frame = encodeOffer({ ...delivered, eph: delivered.callerEph, sig: new Uint8Array(512) });
    onion.conns.at(-1)!.send({ type: 564, tunnelId: 3, data: frame });
    await until(() => c.api.find((m) => m.type === 564), 'TUNNEL DATA in the browser');
    expect(await sign(c, answerTranscript(delivered, eph))).toBe('signed');
    expect(await sign(c, answerTranscript(delivered, eph))).toBe('refused');
    c.ws.close();
  });
});

describe('bridge: presence validation for the network', () => {
  it('subscribes to presence records and validates their shape and round', async () => {
    const sub = await until(
      () => gossip.got.find((m) => m.type === 501 && m.dataType === PRESENCE_DATA_TYPE),
      'NOTIFY',
    );
    expect(sub).toBeTruthy();
    // The validator's connection is the first one gossip saw.
    const conn = gossip.conns[0]!;
    const round = Math.floor(Date.now() / 10_000);
    const good = new Uint8Array(PRESENCE_RECORD_BYTES);
    good[0] = PRESENCE_VERSION;
    new DataView(good.buffer).setUint32(1, round);
    const v1 = good.slice();
    v1[0] = 1; // the old layout, whose tag any relay could compute, no longer spreads
    conn.send({ type: 502, messageId: 44, dataType: PRESENCE_DATA_TYPE, data: v1 });
    const stale = good.slice();
    new DataView(stale.buffer).setUint32(1, round - 5);
    conn.send({ type: 502, messageId: 41, dataType: PRESENCE_DATA_TYPE, data: good });
    conn.send({ type: 502, messageId: 42, dataType: PRESENCE_DATA_TYPE, data: stale });
    conn.send({ type: 502, messageId: 43, dataType: PRESENCE_DATA_TYPE, data: good.subarray(1) });
    const v = (id: number) =>
      until(() => gossip.got.find((m) => m.type === 503 && m.messageId === id), `VALIDATION ${id}`);
    expect(await v(41)).toMatchObject({ valid: true });
    expect(await v(42)).toMatchObject({ valid: false });
    expect(await v(43)).toMatchObject({ valid: false });
    expect(await v(44)).toMatchObject({ valid: false });
  });

  it('with no page open, announces what a page would: 2 presence items each half round, alike to real ones', async () => {
    const from = gossip.got.length;
    const items = () =>
      gossip.got.slice(from).filter((m) => m.type === 500 && m.dataType === PRESENCE_DATA_TYPE) as {
        data: Uint8Array;
      }[];
    // round_seconds = 10: the next announcement time is at most ~5 s away.
    await until(() => (items().length >= 2 ? true : undefined), 'cover items', 12_000);
    for (const m of items()) {
      expect(m.data.length).toBe(PRESENCE_RECORD_BYTES);
      expect(checkPresenceShape(m.data, Date.now(), 10_000)).not.toBeNull();
    }
  });
});
