// Per-circuit queues for a congested link (RELAY cells only: control cells never wait here): bounded
// in cells per circuit, in cells per link and in age, dropping the oldest cell first (voice wants the freshest frame, and a tunnel is best effort
// like UDP), drained round-robin so one busy circuit cannot starve the others (Tor's circuit
// scheduler, much simplified).
import { cellCircId } from './cell.ts';

interface Queue {
  cells: Uint8Array[];
  /** Enqueue time (ms, monotonic) of each cell. */
  at: number[];
}

export class CircuitQueues {
  private readonly queues = new Map<number, Queue>();
  size = 0;
  dropped = 0;

  constructor(
    private readonly perCircuit: number,
    private readonly maxAgeMs = Number.POSITIVE_INFINITY,
    private readonly perLink = Number.POSITIVE_INFINITY,
  ) {}

  push(cell: Uint8Array, now = performance.now()): void {
    const id = cellCircId(cell);
    let q = this.queues.get(id);
    if (!q) {
      q = { cells: [], at: [] };
      this.queues.set(id, q);
    }
    q.cells.push(cell);
    q.at.push(now);
    this.size++;
    // A full circuit queue costs that circuit its oldest cell; a full link costs the circuit with the
    // most cells waiting (the pushing one on a tie) its oldest, so busy circuits cannot starve quiet ones.
    if (q.cells.length > this.perCircuit) this.dropOldest(id, q);
    else if (this.size > this.perLink) this.dropOldest(...this.longest(id, q));
  }

  private longest(id: number, q: Queue): [number, Queue] {
    let best: [number, Queue] = [id, q];
    for (const e of this.queues) if (e[1].cells.length > best[1].cells.length) best = e;
    return best;
  }

  private dropOldest(id: number, q: Queue): void {
    q.cells.shift();
    q.at.shift();
    this.size--;
    this.dropped++;
    if (q.cells.length === 0) this.queues.delete(id);
  }

  /** Up to n cells, one circuit at a time in turn; cells older than maxAgeMs are dropped instead. */
  take(n: number, now = performance.now()): Uint8Array[] {
    const out: Uint8Array[] = [];
    const oldest = now - this.maxAgeMs;
    while (out.length < n && this.size > 0) {
      for (const [id, q] of this.queues) {
        while (q.cells.length > 0 && q.at[0]! < oldest) this.dropOldest(id, q);
        if (q.cells.length === 0) continue;
        out.push(q.cells.shift()!);
        q.at.shift();
        this.size--;
        if (q.cells.length === 0) this.queues.delete(id);
        if (out.length >= n) break;
      }
    }
    return out;
  }
}
