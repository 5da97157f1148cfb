// The transport-independent half of a link: the credit window (flow control), the per-circuit queues
// behind it (the circuit scheduler), and batching of the cells of one event-loop turn into one write.
// A transport (TCP today, UDP some day) supplies a CellSink: it frames, encrypts and writes batches.
import { CELL_SIZE, CellCmd, CMD_OFFSET, newCell, PAYLOAD_OFFSET } from './cell.ts';
import { CircuitQueues } from './cellqueue.ts';

/** What a transport offers the flow control. */
export interface CellSink {
  /** Bytes written and not yet taken by the kernel (back-pressure). */
  readonly queuedBytes: number;
  /** Frame, encrypt and write these cells (each CELL_SIZE), in order, in one write. */
  writeCells(cells: readonly Uint8Array[]): void;
  /** Call fn once when the transport can take more (socket 'drain'). */
  onceDrained(fn: () => void): void;
}

export interface FlowOptions {
  /** Cells sent and not yet credited by the peer (the rest waits, oldest dropped). */
  window: number;
  /** Credit the peer every this many cells handled (a protocol constant but for tests). */
  creditEvery: number;
  /** Bytes queued in the transport above which cells wait in per-circuit queues instead. */
  maxQueuedBytes: number;
  /** Cells each circuit may have waiting (oldest dropped beyond). */
  circuitQueueCells: number;
  /** A cell that waited this long is dropped (stale voice is useless). */
  circuitQueueMs: number;
}

/** One link's flow control and circuit scheduler, over any transport. */
export class LinkFlow {
  /** Cells dropped from the per-circuit queues. */
  dropped = 0;
  private outQueue: Uint8Array[] = [];
  private readonly waiting: CircuitQueues;
  /** Cells written and not yet credited by the peer. */
  private inflight = 0;
  /** Cells received and processed since our last CREDIT. */
  private consumed = 0;
  /** Cells received and not yet credited (handled or waiting in our input queue). */
  uncredited = 0;
  private creditDue = false;
  private drainArmed = false;
  private flushScheduled = false;
  private closed = false;

  constructor(
    private readonly sink: CellSink,
    private readonly opts: FlowOptions,
  ) {
    this.waiting = new CircuitQueues(
      opts.circuitQueueCells,
      opts.circuitQueueMs,
      Math.max(opts.circuitQueueCells, Math.floor(opts.maxQueuedBytes / CELL_SIZE)),
    );
  }

  /** Queue a cell. RELAY cells beyond the window or transport room wait per circuit; others go at once. */
  send(cell: Uint8Array): void {
    if (
      // CREATE, CREATED and DESTROY are never queued or dropped: a lost DESTROY would leave the
      // circuit at the far end for ever. They may exceed the window (the receiver allows for that).
      cell[CMD_OFFSET] !== CellCmd.RELAY ||
      (this.waiting.size === 0 &&
        this.inflight + this.outQueue.length < this.opts.window &&
        this.sink.queuedBytes <= this.opts.maxQueuedBytes)
    ) {
      this.outQueue.push(cell);
    } else {
      const before = this.waiting.dropped;
      this.waiting.push(cell);
      this.dropped += this.waiting.dropped - before;
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After this event-loop turn's I/O: every cell produced by the reads of one turn leaves in one
    // write per link (one syscall, one record), however many sockets those cells came from.
    process.nextTick(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const q = this.outQueue;
    this.outQueue = [];
    if (this.waiting.size > 0 && this.sink.queuedBytes <= this.opts.maxQueuedBytes) {
      const room = this.opts.window - this.inflight - q.length;
      if (room > 0) for (const c of this.waiting.take(room)) q.push(c);
    }
    this.inflight += q.length;
    if (this.creditDue) q.unshift(this.creditCell());
    if (q.length > 0) this.sink.writeCells(q);
    // Cells still waiting for room in the transport: 'drain' will come (credits schedule a flush themselves).
    if (this.waiting.size > 0 && this.sink.queuedBytes > this.opts.maxQueuedBytes && !this.drainArmed) {
      this.drainArmed = true;
      this.sink.onceDrained(() => {
        this.drainArmed = false;
        this.flush();
      });
    }
  }

  private creditCell(): Uint8Array {
    const c = newCell(0, CellCmd.CREDIT);
    new DataView(c.buffer).setUint32(PAYLOAD_OFFSET, this.consumed);
    this.uncredited -= this.consumed;
    this.consumed = 0;
    this.creditDue = false;
    return c;
  }

  /** The peer processed `n` more of our cells; a reason to close the link if it credited too many. */
  credit(n: number): string | undefined {
    if (n > this.inflight) return `CREDIT for ${n} cells, only ${this.inflight} in flight`;
    this.inflight -= n;
    if (this.waiting.size > 0) this.scheduleFlush();
    return undefined;
  }

  /**
   * A cell was handled (or dropped as stale): credit them creditEvery at a time. Cells still waiting in
   * our input queue are not credited, so a busy relay's backlog is bounded by the window as well as by age.
   */
  consume(): void {
    if (++this.consumed >= this.opts.creditEvery && !this.creditDue) {
      this.creditDue = true;
      this.scheduleFlush();
    }
  }

  close(): void {
    this.closed = true;
  }
}
