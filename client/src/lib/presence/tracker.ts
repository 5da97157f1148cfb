// Which friends are online: opens presence records addressed (by round tag) to a contact, rejects
// stale and replayed ones, and expires friends whose newest record is older than the last round.
import { toHex } from '../../../../shared/identity.ts';
import type { Contact } from '../contacts/store.ts';
import {
  checkPresenceShape,
  openPresence,
  presenceKeys,
  roundOf,
  roundTag,
  type PresenceInfo,
} from './record.ts';

export interface OnlineFriend extends PresenceInfo {
  identity: string;
}

export type HandleResult = { accepted: true; identity: string } | { accepted: false; reason: string };

export class PresenceTracker {
  private tags = new Map<string, Contact>();
  private tagsRound = -1;
  private tagsFor: Contact[] = [];
  /** Newest accepted timestamp per identity: a record not newer than this is a replay. */
  private readonly newest = new Map<string, number>();
  private readonly online = new Map<string, OnlineFriend>();
  private readonly listeners = new Set<(online: ReadonlyMap<string, OnlineFriend>) => void>();

  constructor(
    private readonly opts: {
      roundMs: () => number;
      now: () => number;
      contacts: () => Contact[];
      /** Our own identity hex: our records come back through gossip and are ignored. */
      self?: string;
    },
  ) {}

  get friends(): ReadonlyMap<string, OnlineFriend> {
    return this.online;
  }

  onChange(cb: (online: ReadonlyMap<string, OnlineFriend>) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Public shape and freshness check: the answer for Gossip VALIDATION. */
  isValidShape(data: Uint8Array): boolean {
    return checkPresenceShape(data, roundOf(this.opts.now(), this.opts.roundMs())) !== null;
  }

  async handle(data: Uint8Array): Promise<HandleResult> {
    const now = this.opts.now();
    const roundMs = this.opts.roundMs();
    const shape = checkPresenceShape(data, roundOf(now, roundMs));
    if (!shape) return { accepted: false, reason: 'bad shape or stale round' };
    const contact = this.tagIndex(roundOf(now, roundMs)).get(toHex(shape.tag));
    if (!contact) return { accepted: false, reason: 'not from a contact' };
    if (contact.identity === this.opts.self) return { accepted: false, reason: 'own record' };
    const opened = await openPresence(data, contact.spki, now, roundMs);
    if (!opened.ok) return { accepted: false, reason: opened.reason };
    const last = this.newest.get(contact.identity) ?? -1;
    if (opened.info.timestamp <= last)
      return { accepted: false, reason: 'replayed or older than the newest record' };
    // Contact may have been removed while we verified.
    if (!this.opts.contacts().some((c) => c.identity === contact.identity))
      return { accepted: false, reason: 'removed' };
    this.newest.set(contact.identity, opened.info.timestamp);
    this.online.set(contact.identity, { ...opened.info, identity: contact.identity });
    this.emit();
    return { accepted: true, identity: contact.identity };
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
    for (const l of this.listeners) l(this.online);
  }

  /** tag (hex) → contact for the rounds a valid record may carry; rebuilt per round or contact change. */
  private tagIndex(round: number): Map<string, Contact> {
    const contacts = this.opts.contacts();
    if (round !== this.tagsRound || contacts !== this.tagsFor) {
      this.tags = new Map();
      for (const c of contacts) {
        const keys = presenceKeys(c.spki);
        for (const r of [round - 1, round, round + 1]) this.tags.set(toHex(roundTag(keys, r)), c);
      }
      this.tagsRound = round;
      this.tagsFor = contacts;
    }
    return this.tags;
  }
}
