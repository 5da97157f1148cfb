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
  /** How long the relay counts as short of CPU after the last sign of it (default SHORT_HOLD_MS). */
  shortHoldMs?: number;
  /** Share of a core this queue's work may use over a window before it is short (default SHORT_CPU). */
  shortCpu?: number;
  /** That window (default SHORT_WINDOW_MS). */
  shortWindowMs?: number;
}

/**
 * A relay is short of CPU when handling its input (cells and API messages, not counting link crypto
 * and syscalls, which come on top) took more than SHORT_CPU of a core over SHORT_WINDOW_MS, and stays so
 * for SHORT_HOLD_MS: long enough that the circuits it refuses meanwhile go elsewhere. CPU time, not wall
 * time: a relay preempted by other processes, or sharing its process with other relays (testnets),
 * is not short for that. Shedding stale cells (maxAgeMs) comes later, when refusing was not enough.
 */
export const SHORT_CPU = 0.5;
export const SHORT_WINDOW_MS = 1000;
export const SHORT_HOLD_MS = 2000;

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
  /** Times the queue was found short of CPU (episodes). */
  shortEvents = 0;
  private shortAt = Number.NEGATIVE_INFINITY;
  private readonly shortHoldMs: number;
  /** Share of a core (see SHORT_CPU); tests lower it to make a relay short with little work. */
  shortCpu: number;
  private readonly shortWindowMs: number;
  /** CPU microseconds of drains since windowStart. */
  private cpuUs = 0;
  private windowStart = performance.now();
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
    this.shortHoldMs = opts.shortHoldMs ?? SHORT_HOLD_MS;
    this.shortCpu = opts.shortCpu ?? SHORT_CPU;
    this.shortWindowMs = opts.shortWindowMs ?? SHORT_WINDOW_MS;
  }

  /**
   * True while the relay is short of CPU (see SHORT_HOLD_MS): it then refuses new work it may refuse
   * (middle-hop circuits) before its queue has to shed cells.
   */
  shortOfCpu(now = performance.now()): boolean {
    return now - this.shortAt < this.shortHoldMs;
  }

  /** Adds a drain's CPU time; at the end of each window, checks the share of a core it used. */
  private account(cpuUs: number, now: number): void {
    this.cpuUs += cpuUs;
    const wall = now - this.windowStart;
    if (wall < this.shortWindowMs) return;
    if (this.cpuUs / 1000 > this.shortCpu * wall) {
      if (!this.shortOfCpu(now)) this.shortEvents++;
      this.shortAt = now;
    }
    this.cpuUs = 0;
    this.windowStart = now;
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
    const cpu = process.cpuUsage(); // ~1 us: once per loop turn, not per item
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
    const used = process.cpuUsage(cpu);
    this.account(used.user + used.system, now);
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
