// Control messages ride an unreliable tunnel: each gets a sequence number and is sent again every
// `intervalMs` until the peer acknowledges it, at most `maxTries` times. The receiver side processes
// each sequence number once but acknowledges every copy (the ACK may have been the one lost).
import type { ControlMsg } from './wire.ts';

export interface ReliableOptions {
  intervalMs: number;
  maxTries: number;
}

interface Pending {
  msg: ControlMsg;
  tries: number;
  timer?: ReturnType<typeof setTimeout>;
}

export class ReliableSender {
  private nextSeq = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly opts: ReliableOptions,
    private readonly transmit: (msg: ControlMsg, seq: number) => void,
    private readonly onGiveUp: (msg: ControlMsg) => void,
    private readonly onDrained: () => void,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  send(msg: ControlMsg): void {
    const seq = this.nextSeq++;
    const p: Pending = { msg, tries: 0 };
    this.pending.set(seq, p);
    this.fire(seq, p);
  }

  ack(seq: number): void {
    const p = this.pending.get(seq);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(seq);
    if (this.pending.size === 0) this.onDrained();
  }

  stop(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  private fire(seq: number, p: Pending): void {
    if (p.tries >= this.opts.maxTries) {
      this.pending.delete(seq);
      this.onGiveUp(p.msg);
      if (this.pending.size === 0) this.onDrained();
      return;
    }
    p.tries++;
    this.transmit(p.msg, seq);
    p.timer = setTimeout(() => this.fire(seq, p), this.opts.intervalMs);
  }
}

/** Remembers which of the peer's sequence numbers were already processed (bounded). */
export class SeenSequences {
  private readonly seen = new Set<number>();
  constructor(private readonly max = 256) {}
  /** True the first time a sequence number is offered. */
  first(seq: number): boolean {
    if (this.seen.has(seq)) return false;
    if (this.seen.size >= this.max) this.seen.delete(this.seen.values().next().value!);
    this.seen.add(seq);
    return true;
  }
}
