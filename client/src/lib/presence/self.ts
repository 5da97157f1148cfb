// Our own presence secrets, kept in the browser's storage next to the contacts: the X25519 contact key
// (fixed; it names us to friends in the key items) and the presence secret with its epoch (rotated
// whenever we remove a friend, so the removed friend can't follow our records any more).
import { randomBytes } from '@noble/hashes/utils.js';
import type { PresenceCard } from '../../../../shared/contact-string.ts';
import { fromBase64Url, toBase64Url } from '../crypto/b64.ts';
import type { KeyValueStorage } from '../contacts/store.ts';
import { contactPublicKey, newContactKey } from './keys.ts';

const KEY = 'voidphone.presence.v2';
/** Hash of the last `me=` link bundle adopted, so reloading the link does not undo a rotation. */
const LINK_KEY = 'voidphone.presence.link';

export interface SelfPresenceState {
  contactPriv: Uint8Array;
  contactPub: Uint8Array;
  secret: Uint8Array;
  epoch: number;
}

/** The `me=` fragment bundle of a demo link: contact private key ‖ presence secret (64 bytes). */
export function decodeSelfBundle(text: string): { contactPriv: Uint8Array; secret: Uint8Array } | null {
  try {
    const b = fromBase64Url(text);
    return b.length === 64 ? { contactPriv: b.slice(0, 32), secret: b.slice(32) } : null;
  } catch {
    return null;
  }
}

export class SelfPresence {
  private s: SelfPresenceState;
  private readonly listeners = new Set<(s: SelfPresenceState) => void>();

  constructor(private readonly storage: KeyValueStorage | null) {
    this.s = this.load() ?? this.fresh();
  }

  get state(): SelfPresenceState {
    return this.s;
  }

  /** What goes into our contact string. */
  card(): PresenceCard {
    return { contactKey: this.s.contactPub, secret: this.s.secret };
  }

  onChange(cb: (s: SelfPresenceState) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** New random presence secret, next epoch: from the next record on, only friends who get it see us. */
  rotate(): void {
    this.set({ ...this.s, secret: randomBytes(32), epoch: this.s.epoch + 1 });
  }

  /** Adopts a link's bundle unless this very bundle was adopted before; true if adopted. */
  adoptLink(text: string): boolean {
    const b = decodeSelfBundle(text);
    if (!b) return false;
    if (this.storage?.getItem(LINK_KEY) === text) return false;
    try {
      this.storage?.setItem(LINK_KEY, text);
    } catch {
      // Storage off: adopted for this session only.
    }
    this.set({
      contactPriv: b.contactPriv,
      contactPub: contactPublicKey(b.contactPriv),
      secret: b.secret,
      epoch: 0,
    });
    return true;
  }

  private set(s: SelfPresenceState): void {
    this.s = s;
    this.save();
    for (const l of [...this.listeners]) l(s);
  }

  private fresh(): SelfPresenceState {
    const k = newContactKey();
    const s = { contactPriv: k.priv, contactPub: k.pub, secret: randomBytes(32), epoch: 0 };
    this.s = s;
    this.save();
    return s;
  }

  private load(): SelfPresenceState | null {
    try {
      const raw = JSON.parse(this.storage?.getItem(KEY) ?? 'null') as Record<string, unknown> | null;
      if (!raw) return null;
      const contactPriv = fromBase64Url(String(raw.contactKey));
      const secret = fromBase64Url(String(raw.secret));
      const epoch = Number(raw.epoch);
      if (contactPriv.length !== 32 || secret.length !== 32 || !Number.isSafeInteger(epoch) || epoch < 0)
        return null;
      return { contactPriv, contactPub: contactPublicKey(contactPriv), secret, epoch };
    } catch {
      return null; // damaged storage: start afresh (friends then need our new contact string)
    }
  }

  private save(): void {
    const data = {
      contactKey: toBase64Url(this.s.contactPriv),
      secret: toBase64Url(this.s.secret),
      epoch: this.s.epoch,
    };
    try {
      this.storage?.setItem(KEY, JSON.stringify(data));
    } catch {
      // Storage full or disabled: the secret lives for this session only.
    }
  }
}
