// A busy relay's input queue. Work read from sockets waits here instead of in the kernel's socket
// buffers, where nobody can tell how old it is. Each event-loop turn does at most `budgetMs` of it, so
// every socket is read (and its bytes timestamped) between turns. An item marked sheddable (a RELAY
// cell, an API DATA message) that has waited longer than `maxAgeMs` is dropped instead of done: under
// overload the relay spends its CPU on fresh voice, and what it delivers is late by about maxAgeMs per
// relay instead of by seconds of backlog ("drop oldest, best effort like UDP").
// Each source (a link, an API connection) has its own queue, kept in order, and the queues take turns
// one item at a time: a source that floods delays and loses its own items, not everybody's.
// Without overload every item runs in the same loop turn it was read in, a few microseconds later.

/** Called once per item: stale = true when it was dropped instead of done. */
export type IngressWork = (stale: boolean) => void;

export interface IngressOptions {
  /** A sheddable item older than this is dropped. */
  maxAgeMs: number;
  /** Work per event-loop turn before the loop gets to read sockets again. */
  budgetMs?: number;
  /** Bound on one source's waiting items; beyond it its oldest is dropped (sheddable) or done at once. */
  maxPerSource?: number;
  /** Bound on all waiting items, enforced the same way on the source that pushes. */
  maxItems?: number;
  /** Called for every sheddable item dropped (for counters). */
  onDrop?: () => void;
  /** An item that threw (a bug: items handle their own errors); the queue goes on. */
  onError?: (e: unknown) => void;
}

/** One source's items in arrival order (arrays with a moving head: shift() is O(n)). */
class SourceQueue {
  work: IngressWork[] = [];
  at: number[] = [];
  shed: boolean[] = [];
  head = 0;

  get size(): number {
    return this.work.length - this.head;
  }

  push(work: IngressWork, at: number, shed: boolean): void {
    this.work.push(work);
    this.at.push(at);
    this.shed.push(shed);
  }

  /** Removes the oldest item; returns it and whether it may be shed and has waited since before `cutoff`. */
  take(cutoff: number): [IngressWork, boolean] {
    const i = this.head++;
    const work = this.work[i]!;
    const old = this.shed[i]! && this.at[i]! < cutoff;
    this.work[i] = noop; // let it be collected
    if (this.head > 1024 && this.head * 2 > this.work.length) {
      this.work = this.work.slice(this.head);
      this.at = this.at.slice(this.head);
      this.shed = this.shed.slice(this.head);
      this.head = 0;
    }
    return [work, old];
  }
}

export class Ingress {
  /** Sheddable items dropped, by age or by a bound. */
  dropped = 0;
  /** Items waiting, over all sources. */
  size = 0;
  private readonly queues = new Map<object, SourceQueue>();
  private scheduled = false;
  private readonly maxAgeMs: number;
  private readonly budgetMs: number;
  private readonly maxPerSource: number;
  private readonly maxItems: number;
  private readonly onError: (e: unknown) => void;
  private readonly onDrop: () => void;

  constructor(opts: IngressOptions) {
    this.maxAgeMs = opts.maxAgeMs;
    this.budgetMs = opts.budgetMs ?? 5;
    this.maxPerSource = opts.maxPerSource ?? 20_000; // above a link's 16,384 uncredited cells
    this.maxItems = opts.maxItems ?? 100_000;
    this.onError = opts.onError ?? ((e) => console.error(e));
    this.onDrop = opts.onDrop ?? (() => {});
  }

  push(source: object, work: IngressWork, sheddable: boolean): void {
    const q = this.queues.get(source) ?? new SourceQueue();
    // Over a bound, the pushing source pays with its own oldest item (a new source always gets in).
    if (q.size > 0 && (q.size >= this.maxPerSource || this.size >= this.maxItems))
      this.runOldest(source, q, Number.POSITIVE_INFINITY);
    this.queues.set(source, q);
    q.push(work, performance.now(), sheddable);
    this.size++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    // A clock read costs ~50 ns, an item 5-80 us: read it for every item.
    const start = performance.now();
    let now = start;
    while (this.size > 0 && now - start <= this.budgetMs) {
      // The source at the front does one item and goes to the back: turns carry on across loop
      // turns (restarting from the first source each turn would starve the others when items are slow).
      const [source, q] = this.queues.entries().next().value!;
      this.runOldest(source, q, now - this.maxAgeMs);
      if (q.size > 0 && this.queues.get(source) === q) {
        this.queues.delete(source);
        this.queues.set(source, q);
      }
      now = performance.now();
    }
    if (this.size > 0) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Do the source's oldest item, or drop it if it is sheddable and arrived before `cutoff`. */
  private runOldest(source: object, q: SourceQueue, cutoff: number): void {
    const [work, stale] = q.take(cutoff);
    this.size--;
    if (q.size === 0) this.queues.delete(source);
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
}

const noop: IngressWork = () => {};
