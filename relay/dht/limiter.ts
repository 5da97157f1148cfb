// Caps concurrent lookups; a bounded queue holds the excess, and beyond it requests are refused.
// A finishing job hands its slot straight to the next waiter, so the cap holds exactly.
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly maxQueued: number,
  ) {}

  get running(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) {
      if (this.queue.length >= this.maxQueued) throw new Error('DHT busy: too many lookups queued');
      await new Promise<void>((resolve) => this.queue.push(resolve)); // slot handed over, active unchanged
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
