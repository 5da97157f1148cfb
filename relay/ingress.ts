// A busy relay's input queue. Work read from sockets waits here, in arrival order, instead of in the
// kernel's socket buffers, where nobody can tell how old it is. Each event-loop turn does at most
// `budgetMs` of it, so every socket is read (and its bytes timestamped) between turns. An item marked
// sheddable (a RELAY cell, an API DATA message) that has waited longer than `maxAgeMs` is dropped
// instead of done: under overload the relay spends its CPU on fresh voice, and what it delivers is late
// by about maxAgeMs per relay instead of by seconds of backlog ("drop oldest, best effort like UDP").
// Without overload every item runs in the same loop turn it was read in, a few microseconds later.

/** Called once per item: stale = true when it was dropped instead of done. */
export type IngressWork = (stale: boolean) => void;

export interface IngressOptions {
  /** A sheddable item older than this is dropped. */
  maxAgeMs: number;
  /** Work per event-loop turn before the loop gets to read sockets again. */
  budgetMs?: number;
  /** Hard bound on waiting items; beyond it the oldest is dropped (sheddable) or done at once. */
  maxItems?: number;
  /** Called for every sheddable item dropped (for counters). */
  onDrop?: () => void;
  /** An item that threw (a bug: items handle their own errors); the queue goes on. */
  onError?: (e: unknown) => void;
}

export class Ingress {
  /** Sheddable items dropped, by age or by the item bound. */
  dropped = 0;
  private work: IngressWork[] = [];
  private at: number[] = [];
  private shed: boolean[] = [];
  private head = 0;
  private scheduled = false;
  private readonly maxAgeMs: number;
  private readonly budgetMs: number;
  private readonly maxItems: number;
  private readonly onError: (e: unknown) => void;
  private readonly onDrop: () => void;

  constructor(opts: IngressOptions) {
    this.maxAgeMs = opts.maxAgeMs;
    this.budgetMs = opts.budgetMs ?? 5;
    this.maxItems = opts.maxItems ?? 100_000;
    this.onError = opts.onError ?? ((e) => console.error(e));
    this.onDrop = opts.onDrop ?? (() => {});
  }

  get size(): number {
    return this.work.length - this.head;
  }

  push(work: IngressWork, sheddable: boolean): void {
    if (this.size >= this.maxItems) this.runOldest(true);
    this.work.push(work);
    this.at.push(performance.now());
    this.shed.push(sheddable);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    // A clock read costs ~50 ns, an item 5-80 us: read it for every item.
    const start = performance.now();
    for (let now = start; this.size > 0 && now - start <= this.budgetMs; now = performance.now())
      this.runOldest(this.shed[this.head]! && now - this.at[this.head]! > this.maxAgeMs);
    if (this.size > 0) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    } else {
      this.work = [];
      this.at = [];
      this.shed = [];
      this.head = 0;
    }
  }

  /** Take the oldest item and do it, or drop it if `drop` and it is sheddable. */
  private runOldest(drop: boolean): void {
    const i = this.head++;
    const work = this.work[i]!;
    const stale = drop && this.shed[i]!;
    this.work[i] = noop; // let it be collected
    if (this.head > 4096 && this.head * 2 > this.work.length) this.compact();
    if (stale) {
      this.dropped++;
      this.onDrop();
    }
    try {
      work(stale);
    } catch (e) {
      this.onError(e);
    }
  }

  private compact(): void {
    this.work = this.work.slice(this.head);
    this.at = this.at.slice(this.head);
    this.shed = this.shed.slice(this.head);
    this.head = 0;
  }
}

const noop: IngressWork = () => {};
