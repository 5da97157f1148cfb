// The address book: peers we may dial, where we learnt each one (its source: "config" for a
// bootstrapper, else the identity of the neighbour that told us), and per-address dial backoff.
// Bounded; addresses that keep failing are forgotten (bootstrappers never).
import { formatAddress, type HostPort } from '../../shared/address.ts';

export interface BookEntry {
  key: string;
  address: HostPort;
  /** Hex identity, when known (from peer exchange or a past handshake). */
  identity?: string;
  /** Who told us: "config", or the identities of the neighbours that sent it (first few). */
  sources: Set<string>;
  bootstrap: boolean;
  failures: number;
  nextTryAt: number;
}

const MAX_FAILURES = 6;
const MAX_SOURCES = 8;
const MAX_BACKOFF_MS = 60_000;

export class AddressBook {
  private readonly entries = new Map<string, BookEntry>();

  constructor(
    private readonly cap: number,
    private readonly backoffMs: number,
    private readonly ownIdentity: string,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  addBootstrap(address: HostPort): void {
    const key = formatAddress(address);
    const sources = new Set(['config']);
    this.entries.set(key, { key, address, sources, bootstrap: true, failures: 0, nextTryAt: 0 });
  }

  /**
   * Remember an address told by `source` (an address told by several sources may use any).
   * True when the address was new to the book.
   */
  learn(address: HostPort, identity: string, source: string): boolean {
    if (identity === this.ownIdentity) return false;
    const key = formatAddress(address);
    const known = this.entries.get(key);
    if (known) {
      known.identity ??= identity;
      if (known.sources.size < MAX_SOURCES) known.sources.add(source);
      return false;
    }
    if (this.entries.size >= this.cap && !this.evictOne()) return false;
    const sources = new Set([source]);
    this.entries.set(key, { key, address, identity, sources, bootstrap: false, failures: 0, nextTryAt: 0 });
    return true;
  }

  /** Entries due for a dial. */
  due(now: number): BookEntry[] {
    return [...this.entries.values()].filter((e) => e.nextTryAt <= now);
  }

  succeeded(key: string, identity: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.identity = identity;
    e.failures = 0;
  }

  /** A dial failed, or a link we dialled closed: back off (exponentially, with jitter). */
  failed(key: string, now = Date.now()): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.failures++;
    if (e.failures > MAX_FAILURES && !e.bootstrap) {
      this.entries.delete(key);
      return;
    }
    // A bootstrapper is often just busy (full): keep retrying it at a modest pace.
    const cap = e.bootstrap ? Math.min(MAX_BACKOFF_MS, 8 * this.backoffMs) : MAX_BACKOFF_MS;
    const wait = Math.min(cap, this.backoffMs * 2 ** (e.failures - 1));
    e.nextTryAt = now + wait * (0.5 + Math.random());
  }

  /** After a link closed normally: don't redial at once, but don't count it as a failure. */
  rest(key: string, now = Date.now()): void {
    const e = this.entries.get(key);
    if (e) e.nextTryAt = now + this.backoffMs * (0.5 + Math.random());
  }

  remove(key: string): void {
    const e = this.entries.get(key);
    if (e && !e.bootstrap) this.entries.delete(key);
  }

  /** Up to n random entries with a known identity that are not failing: for peer exchange. */
  sample(n: number): BookEntry[] {
    const ok = [...this.entries.values()].filter((e) => e.identity && e.failures === 0);
    return shuffle(ok).slice(0, n);
  }

  private evictOne(): boolean {
    let worst: BookEntry | undefined;
    for (const e of this.entries.values()) {
      if (!e.bootstrap && (!worst || e.failures > worst.failures)) worst = e;
    }
    if (worst) this.entries.delete(worst.key);
    return worst !== undefined;
  }
}

export function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
