import { describe, expect, it } from 'vitest';
import { loadHostkey } from '../../relay/hostkey.ts';
import { signFor } from '../../relay/bridge/sign.ts';
import { toHex } from '../../shared/identity.ts';
import { parseContactString, formatContactString } from '../../client/src/lib/contacts/contact-string.ts';
import type { Contact } from '../../client/src/lib/contacts/store.ts';
import {
  checkPresenceShape,
  openPresence,
  PRESENCE_RECORD_BYTES,
  presenceKeys,
  roundTag,
  sealPresence,
} from '../../client/src/lib/presence/record.ts';
import { PresenceTracker } from '../../client/src/lib/presence/tracker.ts';
import { getKeys } from '../keypool.ts';

const [pemA, pemB] = await getKeys(2);
const alice = await loadHostkey(pemA!);
const mallory = await loadHostkey(pemB!);
const ROUND_MS = 10_000;
const NOW = 1_800_000_003_000; // 3 s into a round
const ROUND = Math.floor(NOW / ROUND_MS);
const signAlice = async (d: Uint8Array) => signFor(alice, 'presence', d);

function seal(overrides: Partial<{ round: number; timestamp: number; host: string }> = {}, sign = signAlice) {
  return sealPresence(
    alice.spkiDer,
    { round: ROUND, timestamp: NOW, host: '127.0.0.1', port: 4711, ...overrides },
    sign,
  );
}

const contact = (name: string, spki: Uint8Array): Contact => ({
  ...parseContactString(formatContactString(name, spki)),
  addedAt: 0,
});

describe('presence record', () => {
  it('a friend opens it: address, port, round, timestamp', async () => {
    const rec = await seal();
    expect(rec.length).toBe(PRESENCE_RECORD_BYTES);
    const v6 = await seal({ host: '2001:db8::1' });
    expect(v6.length).toBe(PRESENCE_RECORD_BYTES); // v4 and v6 records look alike
    const opened = await openPresence(rec, alice.spkiDer, NOW + 1000, ROUND_MS);
    expect(opened).toEqual({
      ok: true,
      info: { round: ROUND, timestamp: NOW, host: '127.0.0.1', port: 4711 },
    });
    expect((await openPresence(v6, alice.spkiDer, NOW, ROUND_MS)).ok).toBe(true);
  });

  it('the wrong key cannot open it', async () => {
    const opened = await openPresence(await seal(), mallory.spkiDer, NOW, ROUND_MS);
    expect(opened).toEqual({ ok: false, reason: 'cannot decrypt (wrong key or tampered)' });
  });

  it('a record signed by another hostkey is refused even though it decrypts', async () => {
    const forged = await seal({}, async (d) => signFor(mallory, 'presence', d));
    expect(await openPresence(forged, alice.spkiDer, NOW, ROUND_MS)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    const wrongPurpose = await seal({}, async (d) => signFor(alice, 'call', d));
    expect((await openPresence(wrongPurpose, alice.spkiDer, NOW, ROUND_MS)).ok).toBe(false);
  });

  it('stale rounds and timestamps are refused', async () => {
    const rec = await seal();
    expect((await openPresence(rec, alice.spkiDer, NOW + 3 * ROUND_MS, ROUND_MS)).ok).toBe(false);
    expect(checkPresenceShape(rec, ROUND + 2)).toBeNull();
    expect(checkPresenceShape(rec, ROUND + 1)).not.toBeNull();
    const oldTs = await seal({ timestamp: NOW - 60_000 });
    expect(await openPresence(oldTs, alice.spkiDer, NOW, ROUND_MS)).toEqual({
      ok: false,
      reason: 'timestamp outside its round',
    });
  });

  it('any flipped byte is refused', async () => {
    const rec = await seal();
    for (const at of [0, 2, 7, 30, 60, 200, rec.length - 1]) {
      const bad = rec.slice();
      bad[at]! ^= 0x01;
      expect((await openPresence(bad, alice.spkiDer, NOW, ROUND_MS)).ok, `byte ${at}`).toBe(false);
    }
    expect(checkPresenceShape(rec.subarray(1), ROUND)).toBeNull();
  });

  it('the public tag changes every round and does not reveal the key', () => {
    const keys = presenceKeys(alice.spkiDer);
    const tags = [ROUND, ROUND + 1, ROUND + 2].map((r) => toHex(roundTag(keys, r)));
    expect(new Set(tags).size).toBe(3);
    expect(toHex(roundTag(presenceKeys(mallory.spkiDer), ROUND))).not.toBe(tags[0]);
  });
});

describe('presence tracker', () => {
  function tracker(now: { t: number }) {
    const contacts = [contact('Alice', alice.spkiDer)];
    return new PresenceTracker({ roundMs: () => ROUND_MS, now: () => now.t, contacts: () => contacts });
  }

  it('marks a friend online, refuses a replay, expires after the next round', async () => {
    const now = { t: NOW };
    const tr = tracker(now);
    const changes: number[] = [];
    tr.onChange((m) => changes.push(m.size));
    const rec = await seal();
    expect(await tr.handle(rec)).toEqual({ accepted: true, identity: toHex(alice.identity) });
    expect(tr.friends.get(toHex(alice.identity))).toMatchObject({ host: '127.0.0.1', port: 4711 });
    expect(await tr.handle(rec)).toEqual({
      accepted: false,
      reason: 'replayed or older than the newest record',
    });
    const older = await seal({ timestamp: NOW - 1000 });
    expect((await tr.handle(older)).accepted).toBe(false);
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
      mallory.spkiDer,
      { round: ROUND, timestamp: NOW, host: '10.0.0.1', port: 1 },
      async (d) => signFor(mallory, 'presence', d),
    );
    expect(tr.isValidShape(stranger)).toBe(true);
    expect(await tr.handle(stranger)).toEqual({ accepted: false, reason: 'not from a contact' });
    expect(tr.isValidShape(new Uint8Array(10))).toBe(false);
    expect((await tr.handle(new Uint8Array(PRESENCE_RECORD_BYTES))).accepted).toBe(false);
  });
});
