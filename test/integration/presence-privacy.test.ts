// Presence against a curious relay, on a real 10-relay testnet with three real clients (the client
// library itself, driven from Node over the bridge WebSocket): alice (relay 1) is friends with bob
// (relay 2) and carol (relay 3). A relay that collected every hostkey of the network and every
// presence item for five rounds tries to attribute them with everything public keys give it; then
// alice removes carol, who must lose alice within two rounds while bob keeps seeing her.
// This file uses only what both the old (hostkey-derived) and the new presence design have, so the
// same test runs against either: the old one is attributed in full and fails here.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { applyFragment } from '../../client/src/lib/api/fragment.ts';
import { VoidPhone } from '../../client/src/lib/api/voidphone.ts';
import { ApiClient } from '../../relay/api/client.ts';
import { type Demo, startDemo } from '../../relay/dev/demo.ts';
import { PRESENCE_DATA_TYPE } from '../../relay/bridge/presence-check.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { toHex } from '../../shared/identity.ts';

const ROUND_S = 8;
const ROUND_MS = ROUND_S * 1000;

/** The browser's WebSocket, in Node: `ws` with the Origin header a page on the bridge would send. */
class PageWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, { origin: `http://${new URL(url).host}` });
  }
}
(globalThis as { WebSocket?: unknown }).WebSocket = PageWebSocket;

function memoryStorage() {
  const data = new Map<string, string>();
  return {
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
  };
}

let demo: Demo;
let baselineDrops = 0;
const phones: Record<string, VoidPhone> = {};
let observer: ApiClient;
const items: { data: Uint8Array; at: number }[] = [];
const ids: Record<string, string> = {};

/** Waits for cond() to hold, checking on every change of any phone; rejects after timeoutMs. */
function until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const offs: (() => void)[] = [];
    const done = (err?: Error) => {
      clearTimeout(timer);
      for (const off of offs) off();
      err ? reject(err) : resolve();
    };
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const check = () => cond() && done();
    for (const vp of Object.values(phones)) offs.push(vp.onChange(check));
    check();
  });
}

const online = (who: string, friend: string) =>
  phones[who]!.snapshot().contacts.some((c) => c.identity === ids[friend] && c.online);

/** Resolves at the start of round `round` (by the relay clock, which these Node clients share). */
function roundStart(round: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, round * ROUND_MS - Date.now())));
}

beforeAll(async () => {
  // Presence only: the relays' own onion cover (relay_cover, 10 streams through 2 hops each) would
  // only load the box for the tests running beside this one (a 1 s build timed out in one of them).
  demo = await startDemo({ relays: 10, roundSeconds: ROUND_S, set: { 'onion.relay_cover': 'false' } });
  for (const [i, name] of [
    [1, 'alice'],
    [2, 'bob'],
    [3, 'carol'],
  ] as const)
    ids[name] = toHex((await loadHostkey(demo.net.relays[i]!.hostkeyPath)).identity);
  // The curious relay: relay 0 (no client of its own) logs every presence item it carries, and
  // validates them like any relay (so it spreads them and stays a good gossip peer).
  observer = await ApiClient.connect(demo.net.relays[0]!.api.gossip!, { timeoutMs: 3000 });
  observer.onMessage((m) => {
    if (m.type !== 502 || m.dataType !== PRESENCE_DATA_TYPE) return;
    items.push({ data: m.data, at: Date.now() });
    observer.send({ type: 503, messageId: m.messageId, valid: true });
  });
  observer.send({ type: 501, dataType: PRESENCE_DATA_TYPE });
  const links = {
    alice: await demo.link(1, 'alice', [
      { relay: 2, name: 'bob' },
      { relay: 3, name: 'carol' },
    ]),
    bob: await demo.link(2, 'bob', [{ relay: 1, name: 'alice' }]),
    carol: await demo.link(3, 'carol', [{ relay: 1, name: 'alice' }]),
  };
  for (const [name, link] of Object.entries(links)) {
    const url = new URL(link);
    const params = new URLSearchParams(url.hash.slice(1));
    const vp = new VoidPhone(`ws://${url.host}/ws?token=${params.get('token')}`, memoryStorage());
    applyFragment(vp, params);
    // The user confirms the contacts the link offers (issue 14); its own keys come with the hello.
    for (const p of vp.snapshot().pendingContacts) vp.confirmContact(p.identity);
    phones[name] = vp;
    vp.start();
  }
}, 300_000);

afterAll(async () => {
  for (const vp of Object.values(phones)) vp.stop();
  observer?.close();
  await demo?.net.stop();
});

/**
 * Everything a relay can derive from a hostkey: the old design's tag and key (HKDF over the SPKI),
 * and the same construction with the SPKI standing in for any secret. Returns the owner it
 * attributes the item to, and whether it could decrypt it.
 */
function attribute(data: Uint8Array, spkis: Map<string, Uint8Array>): { owner?: string; read: boolean } {
  const round = new DataView(data.buffer, data.byteOffset + 1, 4).getUint32(0);
  const tag = toHex(data.subarray(5, 21));
  for (const [id, spki] of spkis) {
    const v1 = hkdf(
      sha256,
      spki,
      new TextEncoder().encode('VoidPhone presence v1'),
      new TextEncoder().encode('enc+tag'),
      64,
    );
    const roundBytes = Uint8Array.of(
      0x72,
      0x6f,
      0x75,
      0x6e,
      0x64,
      round >>> 24,
      (round >>> 16) & 255,
      (round >>> 8) & 255,
      round & 255,
    );
    if (toHex(hmac(sha256, v1.subarray(32), roundBytes).subarray(0, 16)) === tag) {
      try {
        xchacha20poly1305(v1.subarray(0, 32), data.slice(21, 45), data.subarray(0, 45)).decrypt(
          data.subarray(45),
        );
        return { owner: id, read: true };
      } catch {
        return { owner: id, read: false };
      }
    }
  }
  return { read: false };
}

describe('presence against a curious relay (10 relays, 3 clients)', () => {
  it('holding every hostkey and five rounds of items, it attributes none and links no two rounds', async () => {
    // Friends see each other first: the items below are real presence, not noise.
    await until(
      () => online('alice', 'bob') && online('bob', 'alice') && online('carol', 'alice'),
      'presence',
      60_000,
    );
    // How often bob's view of alice flaps with nobody removed: the baseline for the next test.
    const offBaseline = phones.bob!.onChange(() => {
      if (!online('bob', 'alice')) baselineDrops++;
    });
    const first = Math.floor(Date.now() / ROUND_MS) + 1;
    await roundStart(first);
    const from = items.length;
    await roundStart(first + 5);
    offBaseline();
    const window = items.slice(from);
    // Every hostkey of the network (what every relay learns from RPS records and handshakes).
    const spkis = new Map<string, Uint8Array>();
    for (const r of demo.net.relays) {
      const k = await loadHostkey(r.hostkeyPath);
      spkis.set(toHex(k.identity), k.spkiDer);
    }
    expect(spkis.size).toBe(10);
    const results = window.map((i) => attribute(i.data, spkis));
    const attributed = results.filter((r) => r.owner).length;
    const read = results.filter((r) => r.read).length;
    const tags = new Set(window.map((i) => toHex(i.data.subarray(5, 21))));
    const sizes = new Set(window.map((i) => i.data.length));
    console.log(
      `curious relay: ${window.length} presence items in 5 rounds of ${ROUND_S} s, ${attributed} attributed, ${read} read, ${tags.size} distinct tags, sizes ${[...sizes]}`,
    );
    expect(window.length).toBeGreaterThanOrEqual(3 * 5); // three clients, five rounds
    expect(attributed).toBe(0);
    expect(read).toBe(0);
    expect(tags.size).toBe(window.length); // no tag repeats, within or across rounds
    expect(sizes.size).toBe(1);
  }, 240_000);

  it('a removed friend stops seeing alice within two rounds; bob keeps seeing her with nothing to do', async () => {
    const bobLost: number[] = [];
    const offBob = phones.bob!.onChange(() => {
      if (!online('bob', 'alice')) bobLost.push(Date.now());
    });
    const removedIn = Math.floor(Date.now() / ROUND_MS);
    phones.alice!.contacts.remove(ids.carol!);
    await until(() => !online('carol', 'alice'), 'carol to lose alice', 8 * ROUND_MS);
    const lostIn = Math.floor(Date.now() / ROUND_MS);
    // Bob through two more rounds.
    await roundStart(lostIn + 2);
    offBob();
    console.log(
      `removed in round ${removedIn}, carol lost alice in round ${lostIn}; bob dropped alice ${bobLost.length} times (${baselineDrops} in the 5 rounds before)`,
    );
    expect(lostIn - removedIn).toBeLessThanOrEqual(2);
    // Bob got alice's new secret in band and sees her through it (only records under the new secret
    // exist by now). Whether his view flapped meanwhile depends on gossip delay alone: a machine so
    // loaded that items arrive a round late flaps with nobody removed too (the baseline, logged);
    // at ordinary load bob never dropped alice.
    expect(phones.bob!.contacts.get(ids.alice!)!.presence!.secret).toEqual(phones.alice!.self.state.secret);
    await until(() => online('bob', 'alice') && online('alice', 'bob'), 'bob and alice online', 4 * ROUND_MS);
  }, 240_000);
});
