// Which friends are online. Every presence item Gossip shows us is looked up by its tag: a friend's
// record (tag from the friend's presence secret) is opened, its hostkey signature checked, replays
// refused; a friend's key item for us (tag from our pair secret) hands its new presence secret to
// the contact store. Anything else — strangers, dummies, other pairs' key items — matches no tag.
import { toHex } from '../../../../shared/identity.ts';
import { ANNOUNCES_PER_ROUND, checkPresenceShape, roundOf } from '../../../../shared/presence/layout.ts';
import type { Contact } from '../contacts/store.ts';
import { pairKeys, type RoundKeys, recordKeys, roundTag } from './keys.ts';
import { openKeyItem, openPresence, type PresenceInfo } from './record.ts';
import type { SelfPresenceState } from './self.ts';

export interface OnlineFriend extends PresenceInfo {
  identity: string;
}

export type HandleResult =
  | { accepted: true; identity: string; kind: 'record' | 'key' }
  | { accepted: false; reason: string };

type Match = { kind: 'record'; contact: Contact } | { kind: 'key'; contact: Contact; pair: RoundKeys };

export interface TrackerOptions {
  roundMs: () => number;
  now: () => number;
  contacts: () => Contact[];
  /** Our own contact key (for key items addressed to us); null: key items are ignored. */
  own?: () => SelfPresenceState | null;
  /** A friend sent a newer presence secret (the store decides whether it is newer). */
  onKey?: (identity: string, epoch: number, secret: Uint8Array) => void;
  /** Our own identity hex: our records come back through gossip and are ignored. */
  self?: string;
}

/** Receiving side of the pair keys: the friend sends, we receive. */
export function receivingPairKeys(own: SelfPresenceState, friendKey: Uint8Array): RoundKeys | null {
  return pairKeys(own.contactPriv, friendKey, friendKey, own.contactPub);
}

export class PresenceTracker {
  private tags = new Map<string, Match>();
  private tagsRound = -1;
  private tagsFor: Contact[] = [];
  private tagsOwn: SelfPresenceState | null = null;
  /** Newest accepted timestamp per identity: a record not newer than this is a replay. */
  private readonly newest = new Map<string, number>();
  private readonly online = new Map<string, OnlineFriend>();
  private readonly listeners = new Set<(online: ReadonlyMap<string, OnlineFriend>) => void>();

  constructor(private readonly opts: TrackerOptions) {}

  get friends(): ReadonlyMap<string, OnlineFriend> {
    return this.online;
  }

  onChange(cb: (online: ReadonlyMap<string, OnlineFriend>) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Public shape and freshness check: the answer for Gossip VALIDATION. */
  isValidShape(data: Uint8Array): boolean {
    return checkPresenceShape(data, this.opts.now(), this.opts.roundMs()) !== null;
  }

  async handle(data: Uint8Array): Promise<HandleResult> {
    const now = this.opts.now();
    const roundMs = this.opts.roundMs();
    const shape = checkPresenceShape(data, now, roundMs);
    if (!shape) return { accepted: false, reason: 'bad shape or stale round' };
    const match = this.tagIndex(roundOf(now, roundMs)).get(toHex(shape.tag));
    if (!match) return { accepted: false, reason: 'not from a contact' };
    const contact = match.contact;
    if (contact.identity === this.opts.self) return { accepted: false, reason: 'own record' };
    if (match.kind === 'key') {
      const update = openKeyItem(data, match.pair, now, roundMs);
      if (!update) return { accepted: false, reason: 'key item does not open' };
      this.opts.onKey?.(contact.identity, update.epoch, update.secret);
      return { accepted: true, identity: contact.identity, kind: 'key' };
    }
    const opened = await openPresence(data, contact.presence!.secret, contact.spki, now, roundMs);
    if (!opened.ok) return { accepted: false, reason: opened.reason };
    const last = this.newest.get(contact.identity) ?? -1;
    if (opened.info.timestamp <= last)
      return { accepted: false, reason: 'replayed or older than the newest record' };
    // The contact may have been removed (or its secret rotated) while we verified.
    const still = this.opts.contacts().find((c) => c.identity === contact.identity);
    if (!still || still.presence?.secret !== contact.presence?.secret)
      return { accepted: false, reason: 'removed' };
    this.newest.set(contact.identity, opened.info.timestamp);
    this.online.set(contact.identity, { ...opened.info, identity: contact.identity });
    this.emit();
    return { accepted: true, identity: contact.identity, kind: 'record' };
  }

  /** Drops friends whose newest record is older than the previous round (and removed contacts). */
  expire(): void {
    const round = roundOf(this.opts.now(), this.opts.roundMs());
    const known = new Set(this.opts.contacts().map((c) => c.identity));
    let changed = false;
    for (const [id, f] of this.online) {
      if (f.round < round - 1 || !known.has(id)) {
        this.online.delete(id);
        changed = true;
      }
    }
    for (const id of this.newest.keys()) if (!known.has(id)) this.newest.delete(id);
    if (changed) this.emit();
  }

  private emit(): void {
    for (const l of [...this.listeners]) l(this.online);
  }

  /**
   * tag (hex) → what it is, for the rounds a valid item may carry; rebuilt per round or when the
   * contacts or our keys change. 12 HMACs per friend per round (plus one X25519, cached).
   */
  private tagIndex(round: number): Map<string, Match> {
    const contacts = this.opts.contacts();
    const own = this.opts.own?.() ?? null;
    if (round === this.tagsRound && contacts === this.tagsFor && own === this.tagsOwn) return this.tags;
    this.tags = new Map();
    for (const contact of contacts) {
      if (!contact.presence) continue; // v1 contact: no secret, nothing to look for
      const rec = recordKeys(contact.presence.secret);
      const pair = own ? receivingPairKeys(own, contact.presence.contactKey) : null;
      for (const r of [round - 1, round, round + 1]) {
        for (let slot = 0; slot < ANNOUNCES_PER_ROUND; slot++) {
          this.tags.set(toHex(roundTag(rec, r, slot)), { kind: 'record', contact });
          if (pair) this.tags.set(toHex(roundTag(pair, r, slot)), { kind: 'key', contact, pair });
        }
      }
    }
    this.tagsRound = round;
    this.tagsFor = contacts;
    this.tagsOwn = own;
    return this.tags;
  }
}
