// Brahms samplers: each keeps, of all identities it was fed, the one whose keyed hash is smallest
// (min-wise independent permutations). Repetition does not help an attacker: an identity fed a
// thousand times counts exactly once, so each sampler converges to a uniform pick among the distinct
// identities it has seen. The key is secret and random per sampler, so nobody can aim at a minimum.
import { createHash, randomBytes } from 'node:crypto';

const KEY_SIZE = 32;

export class Sampler {
  key: Uint8Array;
  /** Hex identity currently held, or null while nothing was fed since (re)initialisation. */
  sample: string | null = null;
  private best: Uint8Array | null = null;

  constructor(key?: Uint8Array) {
    this.key = key ?? new Uint8Array(randomBytes(KEY_SIZE));
  }

  private rank(id: string): Uint8Array {
    return createHash('sha256').update(this.key).update(id, 'hex').digest();
  }

  /** Offer one identity; true if it became the sample. */
  next(id: string): boolean {
    if (id === this.sample) return false;
    const h = this.rank(id);
    if (this.best && Buffer.compare(h, this.best) >= 0) return false;
    this.best = h;
    this.sample = id;
    return true;
  }

  /** Fresh key, empty sample (Brahms "init"): used when the sample died or was handed out. */
  reinit(): void {
    this.key = new Uint8Array(randomBytes(KEY_SIZE));
    this.sample = null;
    this.best = null;
  }

  /** Restore a persisted sampler (the rank is recomputed, never trusted from disk). */
  static restore(key: Uint8Array, sample: string | null): Sampler {
    const s = new Sampler(key);
    if (sample) s.next(sample);
    return s;
  }
}

/** l2 samplers fed with the same stream. */
export class SamplerSet {
  readonly samplers: Sampler[] = [];

  constructor(size: number) {
    this.resize(size);
  }

  get size(): number {
    return this.samplers.length;
  }

  /**
   * Grow or shrink to `size` (NSE's estimate changed). New samplers are fed `history` at once,
   * so they start with a sample.
   */
  resize(size: number, history: Iterable<string> = []): void {
    if (size < this.samplers.length) this.samplers.length = size;
    const added: Sampler[] = [];
    while (this.samplers.length < size) {
      const s = new Sampler();
      this.samplers.push(s);
      added.push(s);
    }
    if (added.length === 0) return;
    for (const id of history) for (const s of added) s.next(id);
  }

  feed(id: string): void {
    for (const s of this.samplers) s.next(id);
  }

  /** Distinct identities currently held. */
  samples(): string[] {
    return [...new Set(this.samplers.map((s) => s.sample).filter((x): x is string => x !== null))];
  }

  /** Re-initialise every sampler holding `id` and refeed it from `history` (which excludes id). */
  evict(id: string, history: Iterable<string>): number {
    const hit = this.samplers.filter((s) => s.sample === id);
    for (const s of hit) refill(s, history);
    return hit.length;
  }
}

/** Brahms init + replay of the history, so the sampler is at once a fresh uniform pick. */
export function refill(s: Sampler, history: Iterable<string>): void {
  s.reinit();
  for (const id of history) s.next(id);
}
