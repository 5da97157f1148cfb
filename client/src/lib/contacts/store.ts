// The contact list, kept in the browser's localStorage (injectable for tests). Bounded; tolerant of
// damaged storage (a bad entry is dropped, never crashes the app).
import { fromBase64Url, toBase64Url } from '../crypto/b64.ts';
import { isSpki, identityOf, toHex } from '../../../../shared/identity.ts';
import { type ContactCard, cleanName } from './contact-string.ts';
import { parseContactString } from './contact-string.ts';

export const MAX_CONTACTS = 500;
const KEY = 'voidphone.contacts.v1';

export interface Contact extends ContactCard {
  addedAt: number;
  /** Epoch of `presence.secret` as the friend's key items told it; -1 while it is the one from their string. */
  presenceEpoch: number;
}

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

interface Stored {
  name: string;
  spki: string;
  addedAt: number;
  /** Present for contacts added from a v2 string. */
  contactKey?: string;
  secret?: string;
  epoch?: number;
}

export class ContactStore {
  private contacts = new Map<string, Contact>();
  private readonly listeners = new Set<(list: Contact[]) => void>();

  constructor(
    private readonly storage: KeyValueStorage | null,
    private readonly key = KEY,
  ) {
    this.load();
  }

  list(): Contact[] {
    return [...this.contacts.values()].sort(
      (a, b) => a.name.localeCompare(b.name) || a.identity.localeCompare(b.identity),
    );
  }

  get(identity: string): Contact | undefined {
    return this.contacts.get(identity);
  }

  /** Adds (or renames, if already known) from a contact string; throws ContactStringError. */
  addFromString(text: string, nameOverride?: string): Contact {
    const card = parseContactString(text);
    return this.add({ ...card, name: cleanName(nameOverride ?? '') || card.name });
  }

  /** Adds, or updates a known contact (name; presence secret if the card has one). */
  add(card: ContactCard): Contact {
    const existing = this.contacts.get(card.identity);
    if (!existing && this.contacts.size >= MAX_CONTACTS) throw new Error(`At most ${MAX_CONTACTS} contacts.`);
    const contact: Contact = {
      ...card,
      name: cleanName(card.name) || `friend ${card.identity.slice(0, 8)}`,
      addedAt: existing?.addedAt ?? Date.now(),
      presence: card.presence ?? existing?.presence ?? null,
      presenceEpoch: card.presence ? -1 : (existing?.presenceEpoch ?? -1),
    };
    this.contacts.set(card.identity, contact);
    this.save();
    return contact;
  }

  rename(identity: string, name: string): void {
    const c = this.contacts.get(identity);
    const clean = cleanName(name);
    if (!c || !clean) return;
    this.contacts.set(identity, { ...c, name: clean });
    this.save();
  }

  remove(identity: string): void {
    if (this.contacts.delete(identity)) this.save();
  }

  /**
   * A friend's key item told us its new presence secret. Taken only if newer than what we hold, so a
   * late copy of an older item can't roll it back. True if it changed.
   */
  updatePresenceSecret(identity: string, epoch: number, secret: Uint8Array): boolean {
    const c = this.contacts.get(identity);
    if (!c?.presence || epoch <= c.presenceEpoch) return false;
    this.contacts.set(identity, { ...c, presence: { ...c.presence, secret }, presenceEpoch: epoch });
    this.save();
    return true;
  }

  subscribe(cb: (list: Contact[]) => void): () => void {
    this.listeners.add(cb);
    cb(this.list());
    return () => this.listeners.delete(cb);
  }

  private load(): void {
    let raw: unknown;
    try {
      raw = JSON.parse(this.storage?.getItem(this.key) ?? '[]');
    } catch {
      raw = [];
    }
    if (!Array.isArray(raw)) return;
    for (const item of raw.slice(0, MAX_CONTACTS) as Partial<Stored>[]) {
      try {
        const c = fromStored(item);
        if (c) this.contacts.set(c.identity, c);
      } catch {
        // A damaged entry is skipped; the rest of the list still loads.
      }
    }
  }

  private save(): void {
    const data: Stored[] = this.list().map((c) => ({
      name: c.name,
      spki: toBase64Url(c.spki),
      addedAt: c.addedAt,
      ...(c.presence && {
        contactKey: toBase64Url(c.presence.contactKey),
        secret: toBase64Url(c.presence.secret),
        epoch: c.presenceEpoch,
      }),
    }));
    try {
      this.storage?.setItem(this.key, JSON.stringify(data));
    } catch {
      // Storage full or disabled (private mode): contacts live for this session only.
    }
    const list = this.list();
    for (const l of this.listeners) l(list);
  }
}

/** One stored entry, checked as strictly as a contact string (storage may be damaged); throws or null. */
function fromStored(item: Partial<Stored>): Contact | null {
  const spki = fromBase64Url(String(item.spki));
  if (!isSpki(spki)) return null;
  let presence: Contact['presence'] = null;
  if (item.contactKey !== undefined) {
    presence = {
      contactKey: fromBase64Url(String(item.contactKey)),
      secret: fromBase64Url(String(item.secret)),
    };
    if (presence.contactKey.length !== 32 || presence.secret.length !== 32) return null;
  }
  const epoch = Number(item.epoch ?? -1);
  return {
    name: cleanName(String(item.name ?? '')) || 'friend',
    spki,
    identity: toHex(identityOf(spki)),
    presence,
    presenceEpoch: Number.isSafeInteger(epoch) && epoch >= -1 ? epoch : -1,
    addedAt: Number(item.addedAt) || 0,
  };
}
