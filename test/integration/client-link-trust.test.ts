// Issue 14: any web site can link to the client's page. A link may carry the user's own presence
// keys (`me=`, as `npm start` prints) and new presence data for contacts the user already has; the
// page takes them only from a link that carries the token it connects with, and only once the real
// bridge has accepted that token (its hello). The client library runs in Node against a real bridge.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { applyFragment } from '../../client/src/lib/api/fragment.ts';
import { VoidPhone } from '../../client/src/lib/api/voidphone.ts';
import type { BridgeStatus } from '../../client/src/lib/bridge/connection.ts';
import { parseContactString } from '../../client/src/lib/contacts/contact-string.ts';
import { create } from '../../relay/bridge/index.ts';
import { clientUrl, contactString, newDemoUser } from '../../relay/dev/demo.ts';
import { parseConfigText } from '../../relay/config.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import type { RelayModule } from '../../relay/module.ts';
import { identityHex } from '../../shared/identity.ts';
import { getKeys } from '../keypool.ts';
import { logCapture } from '../log-capture.ts';

/** The browser's WebSocket, in Node: `ws` with the Origin header a page on the bridge would send. */
class PageWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, { origin: `http://${new URL(url).host}` });
    this.on('error', () => {}); // a browser reports a refused upgrade as a close (1006), not a throw
  }
}
(globalThis as { WebSocket?: unknown }).WebSocket = PageWebSocket;

const TOKEN = 'test-token-link-trust-0123456789';
const { log } = logCapture(true);
let bridge: RelayModule;
let http: string;
let friendKey: Hostkey;
const phones: VoidPhone[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'link-trust-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>VoidPhone</title>');
  const [pem, friendPem] = await getKeys(2);
  friendKey = await loadHostkey(friendPem!);
  // No [gossip]/[onion]: the page only needs the bridge's hello here.
  const ini = `hostkey = ${pem}\n[bridge]\nhttp_address = 127.0.0.1:0\ntoken = ${TOKEN}\nclient_dir = ${dir}\n`;
  bridge = await create({
    config: parseConfigText(join(dir, 'relay.ini'), ini),
    hostkey: await loadHostkey(pem!),
    log,
  });
  http = `127.0.0.1:${bridge.listening.http!.split(':')[1]}`;
});

afterAll(async () => {
  for (const vp of phones) vp.stop();
  await bridge?.stop();
});

function memoryStorage() {
  const data = new Map<string, string>();
  return {
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
  };
}

/** What main.ts does with a link: connect with the fragment's token, apply the fragment. */
function openPage(url: string, storage = memoryStorage()): VoidPhone {
  const params = new URLSearchParams(new URL(url).hash.slice(1));
  const vp = new VoidPhone(`ws://${http}/ws?token=${encodeURIComponent(params.get('token') ?? '')}`, storage);
  phones.push(vp);
  applyFragment(vp, params);
  return vp;
}

function nextStatus(vp: VoidPhone, want: BridgeStatus): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no status ${want} within 5 s`)), 5000);
    const off = vp.conn.onStatus((s) => {
      if (s !== want) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** A user with one confirmed contact (the friend), as after an earlier visit. */
function userWithFriend() {
  const storage = memoryStorage();
  const vp = new VoidPhone('ws://127.0.0.1:1/ws', storage);
  vp.offerContact(parseContactString(contactString('friend', friendKey.spkiDer, newDemoUser())));
  vp.confirmContact(friendId());
  return { storage, own: vp.self.state, friend: vp.contacts.get(friendId())!.presence! };
}

const friendId = () => identityHex(friendKey.spkiDer);

/** An attacker's link: its own `me=` keys and new keys for the user's friend, all known to the attacker. */
function attackerLink(token: string): {
  url: string;
  me: ReturnType<typeof newDemoUser>;
  friend: ReturnType<typeof newDemoUser>;
} {
  const me = newDemoUser();
  const friend = newDemoUser();
  const url = clientUrl(http, token, 'mallory', [contactString('friend', friendKey.spkiDer, friend)], me);
  return { url: token ? url : url.replace(/token=[^&]*&/, ''), me, friend };
}

describe("a link's own keys (me=) and new keys for known contacts", () => {
  it('are ignored, with a notice, from a link without the token', async () => {
    const u = userWithFriend();
    const a = attackerLink('');
    expect(a.url).not.toContain('token=');
    const vp = openPage(a.url, u.storage);
    expect(vp.self.state.secret).toEqual(u.own.secret);
    expect(vp.self.state.contactPriv).toEqual(u.own.contactPriv);
    expect(vp.contacts.get(friendId())!.presence).toEqual(u.friend);
    expect(vp.snapshot().notice).toMatch(/does not carry your relay's token.*friend/);
  });

  it('are not adopted from a link whose token the relay refuses', async () => {
    const u = userWithFriend();
    const a = attackerLink('wrong-token-0123456789abcdef');
    const vp = openPage(a.url, u.storage);
    const closed = nextStatus(vp, 'closed');
    vp.start();
    await closed; // the bridge refused the upgrade (401)
    expect(vp.conn.hello).toBeNull();
    expect(vp.self.state.secret).toEqual(u.own.secret);
    expect(vp.self.state.contactPriv).toEqual(u.own.contactPriv);
    expect(vp.contacts.get(friendId())!.presence).toEqual(u.friend);
  });

  it("are adopted from the relay's own link once the relay accepted its token, and once only", async () => {
    const u = userWithFriend();
    const a = attackerLink(TOKEN); // what `npm start` prints: the same shape, with the right token
    const vp = openPage(a.url, u.storage);
    expect(vp.self.state.secret).toEqual(u.own.secret); // nothing before the relay's hello
    const open = nextStatus(vp, 'open');
    vp.start();
    await open;
    expect(vp.self.state.secret).toEqual(a.me.secret);
    expect(vp.self.state.contactPriv).toEqual(a.me.contactPriv);
    expect(vp.contacts.get(friendId())!.presence!.secret).toEqual(a.friend.secret);
    expect(vp.contacts.get(friendId())!.name).toBe('friend');
    vp.stop();
    // Reloading the same link keeps what the user did since (a rotation after removing a friend).
    vp.self.rotate();
    const rotated = vp.self.state.secret;
    const again = openPage(a.url, u.storage);
    const open2 = nextStatus(again, 'open');
    again.start();
    await open2;
    expect(again.self.state.secret).toEqual(rotated);
  });
});
