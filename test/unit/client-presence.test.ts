// Presence v2 (docs/threat-model.md "Presence"): records only holders of the current presence secret
// open, signed over header (nonce, round, tag) and address; key items that carry a rotated secret
// to each remaining friend; a constant number of constant-size items per announcement.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { VoidPhone } from '../../client/src/lib/api/voidphone.ts';
import { formatContactString, parseContactString } from '../../client/src/lib/contacts/contact-string.ts';
import { type Contact, ContactStore, type KeyValueStorage } from '../../client/src/lib/contacts/store.ts';
import { recordKeys, roundKey, roundTag } from '../../client/src/lib/presence/keys.ts';
import {
  dummyItem,
  openPresence,
  PRESENCE_ITEM_BYTES,
  sealPresence,
} from '../../client/src/lib/presence/record.ts';
import { SelfPresence } from '../../client/src/lib/presence/self.ts';
import { PresenceService } from '../../client/src/lib/presence/service.ts';
import { PresenceTracker } from '../../client/src/lib/presence/tracker.ts';
import { presenceSignRefusal } from '../../relay/bridge/sign-presence.ts';
import { signFor } from '../../relay/bridge/sign.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { toHex } from '../../shared/identity.ts';
import {
  checkPresenceShape,
  encodeHeader,
  HEADER_BYTES,
  ITEMS_PER_ANNOUNCE,
  PRESENCE_VERSION,
} from '../../shared/presence/layout.ts';
import { getKeys } from '../keypool.ts';

const pems = await getKeys(3);
const [aliceKey, bobKey, carolKey] = await Promise.all(pems.map((p) => loadHostkey(p)));
const ROUND_MS = 10_000;
const NOW = 1_800_000_003_000; // 3 s into a round
const ROUND = Math.floor(NOW / ROUND_MS);
const SECRET = randomBytes(32);
const signAs = (k: Hostkey) => async (d: Uint8Array) => signFor(k, 'presence', d);

function memoryStorage(): KeyValueStorage {
  const data = new Map<string, string>();
  return { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

function seal(o: Partial<{ round: number; timestamp: number; host: string }> = {}, sign = signAs(aliceKey!)) {
  return sealPresence(SECRET, { round: ROUND, timestamp: NOW, host: '127.0.0.1', port: 4711, ...o }, sign);
}

const aliceContact = (secret = SECRET): Contact => ({
  ...parseContactString(
    formatContactString('Alice', aliceKey!.spkiDer, { contactKey: new Uint8Array(32).fill(5), secret }),
  ),
  addedAt: 0,
  presenceEpoch: -1,
});

/** Decrypts a record with its secret (what any friend can do) and re-seals it with the header changed. */
function reseal(
  rec: Uint8Array,
  change: { round?: number; nonce?: Uint8Array; edit?: (p: Uint8Array) => void },
) {
  const keys = recordKeys(SECRET);
  const header = rec.subarray(0, HEADER_BYTES);
  const round = new DataView(header.buffer, header.byteOffset + 1, 4).getUint32(0);
  const plain = xchacha20poly1305(roundKey(keys, round), header.slice(21, 45), header).decrypt(
    rec.subarray(HEADER_BYTES),
  );
  change.edit?.(plain);
  const r = change.round ?? round;
  const h = encodeHeader({
    version: PRESENCE_VERSION,
    round: r,
    tag: roundTag(keys, r, 0),
    nonce: change.nonce ?? header.slice(21, 45),
  });
  return Uint8Array.from([...h, ...xchacha20poly1305(roundKey(keys, r), h.slice(21, 45), h).encrypt(plain)]);
}

describe('presence record', () => {
  it('a friend with the secret opens it: address, port, round, timestamp; v4 and v6 alike in size', async () => {
    const rec = await seal();
    const v6 = await seal({ host: '2001:db8::1' });
    expect(rec.length).toBe(PRESENCE_ITEM_BYTES);
    expect(v6.length).toBe(PRESENCE_ITEM_BYTES);
    expect(await openPresence(rec, SECRET, aliceKey!.spkiDer, NOW + 1000, ROUND_MS)).toEqual({
      ok: true,
      info: { round: ROUND, timestamp: NOW, host: '127.0.0.1', port: 4711 },
    });
    expect((await openPresence(v6, SECRET, aliceKey!.spkiDer, NOW, ROUND_MS)).ok).toBe(true);
  });

  it('the hostkey opens nothing: tag and key come from the secret, not from any public key', async () => {
    const rec = await seal();
    expect(await openPresence(rec, randomBytes(32), aliceKey!.spkiDer, NOW, ROUND_MS)).toEqual({
      ok: false,
      reason: 'cannot decrypt (wrong key or tampered)',
    });
    // Every round's tag differs; none is the hostkey-derived tag of the old design.
    const tags = [ROUND, ROUND + 1, ROUND + 2].flatMap((r) =>
      [0, 1].map((s) => toHex(roundTag(recordKeys(SECRET), r, s))),
    );
    expect(new Set(tags).size).toBe(6); // per round and per half round: two items of one sender never share a tag
    expect(tags).toContain(toHex(rec.slice(5, 21)));
    expect(toHex(roundTag(recordKeys(aliceKey!.spkiDer), ROUND, 0))).not.toBe(tags[0]);
  });

  it('a record signed by another hostkey, or for another purpose, is refused although it decrypts', async () => {
    const forged = await seal({}, signAs(bobKey!));
    expect(await openPresence(forged, SECRET, aliceKey!.spkiDer, NOW, ROUND_MS)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    const wrongPurpose = await seal({}, async (d) => signFor(aliceKey!, 'call', d));
    expect((await openPresence(wrongPurpose, SECRET, aliceKey!.spkiDer, NOW, ROUND_MS)).ok).toBe(false);
  });

  it('a re-sealed record (new nonce, other round, edited address) is refused', async () => {
    const rec = await seal();
    const open = (d: Uint8Array, now = NOW) => openPresence(d, SECRET, aliceKey!.spkiDer, now, ROUND_MS);
    expect((await open(reseal(rec, {}))).ok).toBe(true); // the helper itself changes nothing
    const newNonce = reseal(rec, { nonce: randomBytes(24) });
    expect(await open(newNonce)).toEqual({
      ok: false,
      reason: 'signed header differs from the record (re-sealed)',
    });
    const nextRound = reseal(rec, { round: ROUND + 1 });
    expect((await open(nextRound, NOW + ROUND_MS)).ok).toBe(false);
    // The address sits in the signed bytes: plaintext = kind ‖ len ‖ header(45) ‖ timestamp(8) ‖ port(2) ‖ len ‖ ip
    const otherAddress = reseal(rec, {
      edit: (p) => {
        p[1 + 2 + 45 + 8 + 2 + 1 + 3]! ^= 1;
      },
    });
    expect(await open(otherAddress)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('stale rounds and timestamps are refused', async () => {
    const rec = await seal();
    expect((await openPresence(rec, SECRET, aliceKey!.spkiDer, NOW + 3 * ROUND_MS, ROUND_MS)).ok).toBe(false);
    expect(checkPresenceShape(rec, NOW + 2 * ROUND_MS, ROUND_MS)).toBeNull();
    expect(checkPresenceShape(rec, NOW + ROUND_MS, ROUND_MS)).not.toBeNull();
    const oldTs = await seal({ timestamp: NOW - 60_000 });
    expect(await openPresence(oldTs, SECRET, aliceKey!.spkiDer, NOW, ROUND_MS)).toEqual({
      ok: false,
      reason: 'timestamp outside its round',
    });
  });

  it('any flipped byte is refused', async () => {
    const rec = await seal();
    for (const at of [0, 2, 7, 30, 60, 200, rec.length - 1]) {
      const bad = rec.slice();
      bad[at]! ^= 0x01;
      expect((await openPresence(bad, SECRET, aliceKey!.spkiDer, NOW, ROUND_MS)).ok, `byte ${at}`).toBe(
        false,
      );
    }
    expect(checkPresenceShape(rec.subarray(1), NOW, ROUND_MS)).toBeNull();
  });

  it('what the client asks the bridge to sign passes the bridge policy only for the current or next round', async () => {
    const asked: Uint8Array[] = [];
    await seal({}, async (d) => {
      asked.push(d);
      return signFor(aliceKey!, 'presence', d);
    });
    expect(presenceSignRefusal(asked[0]!, NOW, ROUND_MS)).toBeNull();
    expect(presenceSignRefusal(asked[0]!, NOW - ROUND_MS, ROUND_MS)).toBeNull(); // next round
    // The round that just ended: only in the first 5 s of the next (a page's clock may lag the relay's).
    expect(presenceSignRefusal(asked[0]!, (ROUND + 1) * ROUND_MS + 4_000, ROUND_MS)).toBeNull();
    expect(presenceSignRefusal(asked[0]!, (ROUND + 1) * ROUND_MS + 6_000, ROUND_MS)).toMatch(/refused/);
    expect(presenceSignRefusal(asked[0]!, NOW + 2 * ROUND_MS, ROUND_MS)).toMatch(/refused/);
    expect(presenceSignRefusal(asked[0]!, NOW - 100 * ROUND_MS, ROUND_MS)).toMatch(/refused/);
    expect(presenceSignRefusal(Buffer.from('hello presence'), NOW, ROUND_MS)).toMatch(
      /not a presence record/,
    );
  });
});

/** One user of the tests below: own secrets, contacts, tracker (clock shared through `clock`). */
interface User {
  name: string;
  key: Hostkey;
  vp: VoidPhone;
  tracker: PresenceTracker;
  service: PresenceService;
}

const clock = { t: NOW };

function user(name: string, key: Hostkey): User {
  // The real client engine (not started: no socket), so removal rotates the secret as in the page.
  const vp = new VoidPhone('ws://127.0.0.1:1/ws', memoryStorage());
  const tracker = new PresenceTracker({
    roundMs: () => ROUND_MS,
    now: () => clock.t,
    contacts: () => vp.contacts.list(),
    own: () => vp.self.state,
    onKey: (id, epoch, secret) => vp.contacts.updatePresenceSecret(id, epoch, secret),
    self: toHex(key.identity),
  });
  const conn = {
    send: () => true,
    sign: (_p: string, d: Uint8Array) => signAs(key)(d),
    onMessage: () => () => {},
  };
  const service = new PresenceService({
    conn,
    tracker,
    self: () => vp.self.state,
    contacts: () => vp.contacts.list(),
    onion: { host: '127.0.0.1', port: 4000 },
    roundMs: ROUND_MS,
    now: () => clock.t,
  });
  return { name, key, vp, tracker, service };
}

function befriend(a: User, b: User): void {
  a.vp.contacts.add(parseContactString(formatContactString(b.name, b.key.spkiDer, b.vp.self.card())));
  b.vp.contacts.add(parseContactString(formatContactString(a.name, a.key.spkiDer, a.vp.self.card())));
}

/** One announcement of `from`, shown to every tracker (the gossip network floods it to all). */
async function announce(from: User, to: User[]): Promise<Uint8Array[]> {
  const items = await from.service.items(clock.t);
  for (const u of to) for (const item of items) await u.tracker.handle(item);
  return items;
}

describe('presence items: constant count and size', () => {
  it('one announcement is ITEMS_PER_ANNOUNCE items of PRESENCE_ITEM_BYTES, with 0, 1 or 60 friends', async () => {
    clock.t = NOW;
    const alice = user('alice', aliceKey!);
    const seen: number[][] = [];
    const others = Array.from({ length: 60 }, () => new SelfPresence(null));
    for (const n of [0, 1, 60]) {
      for (const [i, o] of others.slice(0, n).entries()) {
        const spki = [aliceKey, bobKey, carolKey][i % 3]!.spkiDer;
        // Distinct identities need distinct hostkeys; a fake SPKI-shaped identity is enough here.
        alice.vp.contacts.add({
          ...parseContactString(formatContactString(`f${i}`, spki, o.card())),
          identity: `${i}`.padStart(64, '0'),
        });
      }
      const items = await alice.service.items(clock.t);
      seen.push(items.map((d) => d.length));
      for (const d of items) expect(checkPresenceShape(d, clock.t, ROUND_MS)).not.toBeNull();
    }
    expect(seen).toEqual([0, 1, 2].map(() => Array(ITEMS_PER_ANNOUNCE).fill(PRESENCE_ITEM_BYTES)));
  });

  it('opening the page announces nothing until the next announcement time (the relay cover holds until then)', async () => {
    clock.t = NOW; // 3 s into a round: the next announcement time is 2 s away
    const tracker = new PresenceTracker({ roundMs: () => ROUND_MS, now: () => clock.t, contacts: () => [] });
    const sent: number[] = [];
    const service = new PresenceService({
      conn: {
        send: (m) => sent.push(m.type) > 0,
        sign: async () => new Uint8Array(0),
        onMessage: () => () => {},
      },
      tracker,
      self: () => new SelfPresence(null).state,
      contacts: () => [],
      onion: { host: '127.0.0.1', port: 1 },
      roundMs: ROUND_MS,
      now: () => clock.t,
    });
    service.start();
    await new Promise((r) => setTimeout(r, 50));
    service.stop();
    expect(sent).toEqual([501]);
  });

  it('a dummy looks like any item and opens as nothing', async () => {
    const d = dummyItem(ROUND);
    expect(d.length).toBe(PRESENCE_ITEM_BYTES);
    expect(checkPresenceShape(d, NOW, ROUND_MS)).not.toBeNull();
    const tr = new PresenceTracker({
      roundMs: () => ROUND_MS,
      now: () => NOW,
      contacts: () => [aliceContact()],
    });
    expect(await tr.handle(d)).toEqual({ accepted: false, reason: 'not from a contact' });
  });
});

describe('presence tracker', () => {
  function tracker(now: { t: number }) {
    const contacts = [aliceContact()];
    return new PresenceTracker({ roundMs: () => ROUND_MS, now: () => now.t, contacts: () => contacts });
  }

  it('marks a friend online, refuses a replay, expires after the next round', async () => {
    const now = { t: NOW };
    const tr = tracker(now);
    const changes: number[] = [];
    tr.onChange((m) => changes.push(m.size));
    const rec = await seal();
    expect(await tr.handle(rec)).toEqual({
      accepted: true,
      identity: toHex(aliceKey!.identity),
      kind: 'record',
    });
    expect(tr.friends.get(toHex(aliceKey!.identity))).toMatchObject({ host: '127.0.0.1', port: 4711 });
    expect(await tr.handle(rec)).toEqual({
      accepted: false,
      reason: 'replayed or older than the newest record',
    });
    expect((await tr.handle(await seal({ timestamp: NOW - 1000 }))).accepted).toBe(false);
    // Replayed later, to a tracker that never saw it: stale.
    const fresh = tracker({ t: NOW + 3 * ROUND_MS });
    expect((await fresh.handle(rec)).accepted).toBe(false);
    now.t = NOW + ROUND_MS;
    tr.expire();
    expect(tr.friends.size).toBe(1);
    now.t = NOW + 2 * ROUND_MS;
    tr.expire();
    expect(tr.friends.size).toBe(0);
    expect(changes).toEqual([1, 0]);
  });

  it('ignores records of strangers and damaged ones, and validates only the shape', async () => {
    const tr = tracker({ t: NOW });
    const stranger = await sealPresence(
      randomBytes(32),
      { round: ROUND, timestamp: NOW, host: '10.0.0.1', port: 1 },
      signAs(bobKey!),
    );
    expect(tr.isValidShape(stranger)).toBe(true);
    expect(await tr.handle(stranger)).toEqual({ accepted: false, reason: 'not from a contact' });
    expect(tr.isValidShape(new Uint8Array(10))).toBe(false);
    expect((await tr.handle(new Uint8Array(PRESENCE_ITEM_BYTES))).accepted).toBe(false);
  });
});

describe('removing a friend', () => {
  it('rotates the secret: the removed friend loses us within two rounds, the others keep us with nothing to do', async () => {
    clock.t = NOW;
    const alice = user('alice', aliceKey!);
    const bob = user('bob', bobKey!);
    const carol = user('carol', carolKey!);
    befriend(alice, bob);
    befriend(alice, carol);
    const aliceId = toHex(aliceKey!.identity);
    const watchers = [bob, carol];
    await announce(alice, watchers);
    expect(bob.tracker.friends.has(aliceId)).toBe(true);
    expect(carol.tracker.friends.has(aliceId)).toBe(true);

    const epoch = alice.vp.self.state.epoch;
    const oldSecret = alice.vp.self.state.secret;
    alice.vp.contacts.remove(toHex(carolKey!.identity));
    expect(alice.vp.self.state.epoch).toBe(epoch + 1);
    expect(toHex(alice.vp.self.state.secret)).not.toBe(toHex(oldSecret));

    const bobSaw: boolean[] = [];
    const carolSaw: boolean[] = [];
    const carolOpened: number[] = [];
    // Two announcements a round (mid-round, just after the boundary) for two rounds.
    for (const t of [NOW + 2_000, NOW + 7_200, NOW + 12_000, NOW + 17_200, NOW + 22_000]) {
      clock.t = t;
      const items = await alice.service.items(clock.t);
      for (const item of items) {
        await bob.tracker.handle(item);
        const r = await carol.tracker.handle(item);
        if (r.accepted) carolOpened.push(t);
      }
      for (const u of watchers) u.tracker.expire();
      bobSaw.push(bob.tracker.friends.has(aliceId));
      carolSaw.push(carol.tracker.friends.has(aliceId));
    }
    expect(carolOpened).toEqual([]); // nothing alice sent after the removal opens for carol
    expect(bobSaw).toEqual([true, true, true, true, true]);
    // Carol's last record of alice is from round ROUND: gone once round ROUND+2 starts.
    expect(carolSaw.at(-1)).toBe(false);
    expect(bob.vp.contacts.get(aliceId)!.presence!.secret).toEqual(alice.vp.self.state.secret);
    expect(carol.vp.contacts.get(aliceId)!.presence!.secret).toEqual(oldSecret);
  });

  it('a friend offline during the rotation gets the secret on its turn; key items open for their friend only', async () => {
    clock.t = NOW;
    const alice = user('alice', aliceKey!);
    const bob = user('bob', bobKey!);
    const carol = user('carol', carolKey!);
    befriend(alice, bob);
    befriend(alice, carol);
    alice.vp.self.rotate();
    const aliceId = toHex(aliceKey!.identity);
    // Carol was offline for the first announcement (bob's turn); she gets hers on the next.
    await announce(alice, [bob]);
    expect(bob.vp.contacts.get(aliceId)!.presenceEpoch).toBe(alice.vp.self.state.epoch);
    const keyResults: string[] = [];
    clock.t += 5_000;
    for (const item of await alice.service.items(clock.t)) {
      const r = await bob.tracker.handle(item); // carol's key item: no tag bob knows
      keyResults.push(r.accepted ? r.kind : r.reason);
      await carol.tracker.handle(item);
    }
    expect(keyResults).toEqual(['not from a contact', 'record']);
    expect(carol.vp.contacts.get(aliceId)!.presence!.secret).toEqual(alice.vp.self.state.secret);
    expect(carol.tracker.friends.has(aliceId)).toBe(true);
  });

  it('the store keeps only newer epochs, and persists presence secrets', () => {
    const storage = memoryStorage();
    const store = new ContactStore(storage);
    const c = store.add(aliceContact());
    expect(store.updatePresenceSecret(c.identity, 3, new Uint8Array(32).fill(3))).toBe(true);
    expect(store.updatePresenceSecret(c.identity, 2, new Uint8Array(32).fill(2))).toBe(false);
    const again = new ContactStore(storage).get(c.identity)!;
    expect(again.presenceEpoch).toBe(3);
    expect(again.presence!.secret).toEqual(new Uint8Array(32).fill(3));
  });
});
