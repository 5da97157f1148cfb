// The contact list, kept in the browser's localStorage (injectable for tests). Bounded; tolerant of
// damaged storage (a bad entry is dropped, never crashes the app).
import { fromBase64Url, toBase64Url } from '../crypto/b64.ts';
import { type ContactCard, cleanName, parseContactString, formatContactString } from './contact-string.ts';

export const MAX_CONTACTS = 500;
const KEY = 'voidphone.contacts.v1';

export interface Contact extends ContactCard {
  addedAt: number;
}

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

interface Stored {
  name: string;
  spki: string;
  addedAt: number;
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

  add(card: ContactCard): Contact {
    const existing = this.contacts.get(card.identity);
    if (!existing && this.contacts.size >= MAX_CONTACTS) throw new Error(`At most ${MAX_CONTACTS} contacts.`);
    const contact: Contact = {
      ...card,
      name: cleanName(card.name) || `friend ${card.identity.slice(0, 8)}`,
      addedAt: existing?.addedAt ?? Date.now(),
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

  contactString(identity: string): string | undefined {
    const c = this.contacts.get(identity);
    return c && formatContactString(c.name, c.spki);
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
        const card = parseContactString(
          formatContactString(String(item.name ?? ''), fromBase64Url(String(item.spki))),
        );
        this.contacts.set(card.identity, { ...card, addedAt: Number(item.addedAt) || 0 });
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
