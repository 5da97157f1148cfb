// Per-circuit queues for a congested link: bounded, dropping the oldest cell first (voice wants the
// freshest frame, and a tunnel is best effort like UDP), drained round-robin so one busy circuit
// cannot starve the others (Tor's circuit scheduler, much simplified).
import { cellCircId } from './cell.ts';

export class CircuitQueues {
  private readonly queues = new Map<number, Uint8Array[]>();
  size = 0;
  dropped = 0;

  constructor(private readonly perCircuit: number) {}

  push(cell: Uint8Array): void {
    const id = cellCircId(cell);
    let q = this.queues.get(id);
    if (!q) {
      q = [];
      this.queues.set(id, q);
    }
    q.push(cell);
    this.size++;
    if (q.length > this.perCircuit) {
      q.shift();
      this.size--;
      this.dropped++;
    }
  }

  /** Up to n cells, one circuit at a time in turn. */
  take(n: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (out.length < n && this.size > 0) {
      for (const [id, q] of this.queues) {
        out.push(q.shift()!);
        this.size--;
        if (q.length === 0) this.queues.delete(id);
        if (out.length >= n) break;
      }
    }
    return out;
  }
}
