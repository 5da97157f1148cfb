// Relay messages (DATA, EXTEND, OPEN, ...) cut into cell bodies and put back together.
// Body: relay cmd u8 | message id u16 | fragment index u16 | fragment count u16 | length u8 | data.
// Best effort: a message with a lost fragment is dropped whole (evicted), never delivered corrupted.
import {
  BODY_OFFSET,
  CELL_SIZE,
  CellCmd,
  CMD_OFFSET,
  FRAG_DATA,
  FRAG_HEADER,
  MAX_FRAGMENTS,
  MAX_RELAY_CMD,
} from './cell.ts';

export interface RelayMessage {
  cmd: number;
  data: Uint8Array;
}

export class RelayProtocolError extends Error {}

/** How many cells `fragment` makes of a message of `bytes` bytes. */
export const fragmentCount = (bytes: number): number => Math.max(1, Math.ceil(bytes / FRAG_DATA));

/** Cells (CELL_SIZE, command RELAY, circuit id and N unset) carrying one message, bodies in plaintext. */
export function fragment(cmd: number, data: Uint8Array, msgId: number): Uint8Array[] {
  const count = fragmentCount(data.length);
  if (count > MAX_FRAGMENTS) throw new RangeError(`relay message of ${data.length} bytes is too large`);
  const cells: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = data.subarray(i * FRAG_DATA, (i + 1) * FRAG_DATA);
    const c = new Uint8Array(CELL_SIZE);
    c[CMD_OFFSET] = CellCmd.RELAY;
    const b = BODY_OFFSET;
    c[b] = cmd;
    c[b + 1] = msgId >> 8;
    c[b + 2] = msgId & 0xff;
    c[b + 3] = i >> 8;
    c[b + 4] = i & 0xff;
    c[b + 5] = count >> 8;
    c[b + 6] = count & 0xff;
    c[b + 7] = part.length;
    c.set(part, b + FRAG_HEADER);
    cells.push(c);
  }
  return cells;
}

interface Partial {
  id: number;
  owner: Reassembler;
  cmd: number;
  parts: (Uint8Array | undefined)[];
  got: number;
  bytes: number;
  started: number;
}

/** What a buffered fragment costs beyond its data (its own ArrayBuffer and view objects). */
const FRAGMENT_OVERHEAD = 128;

/**
 * Partial messages of every circuit of a relay, oldest first, under one byte budget: a peer that
 * starts big messages on many circuits and never finishes them costs at most maxBytes, and a partial
 * older than timeoutMs is dropped whenever any circuit buffers a fragment (quiet circuits included).
 */
export class ReassemblyBudget {
  bytes = 0;
  /** Partial messages dropped to stay within the budget or because they timed out. */
  evicted = 0;
  readonly partials = new Set<Partial>();

  constructor(
    readonly maxBytes: number,
    readonly timeoutMs = 5000,
  ) {}

  /** Make room for `incoming` more bytes and drop what timed out. */
  reclaim(now: number, incoming: number): void {
    for (const p of this.partials) {
      if (this.bytes + incoming <= this.maxBytes && now - p.started <= this.timeoutMs) break;
      p.owner.drop(p.id);
      this.evicted++;
    }
  }
}

/** Per-circuit, per-direction reassembly: at most maxPartials messages, within a relay-wide budget. */
export class Reassembler {
  private readonly partial = new Map<number, Partial>();
  private bytes = 0;
  private readonly budget: ReassemblyBudget;

  constructor(
    private readonly maxMessage: number,
    private readonly maxPartials = 4,
    timeoutMs = 5000,
    budget?: ReassemblyBudget,
  ) {
    this.budget =
      budget ??
      new ReassemblyBudget(maxPartials * (maxMessage + MAX_FRAGMENTS * FRAGMENT_OVERHEAD), timeoutMs);
  }

  /** Feed a recognized cell's plaintext body; throws RelayProtocolError on a malformed body. */
  push(cell: Uint8Array, now = Date.now()): RelayMessage | undefined {
    const b = BODY_OFFSET;
    const cmd = cell[b]!;
    const msgId = (cell[b + 1]! << 8) | cell[b + 2]!;
    const idx = (cell[b + 3]! << 8) | cell[b + 4]!;
    const count = (cell[b + 5]! << 8) | cell[b + 6]!;
    const len = cell[b + 7]!;
    if (cmd < 1 || cmd > MAX_RELAY_CMD) throw new RelayProtocolError(`unknown relay command ${cmd}`);
    if (count < 1 || idx >= count || len > FRAG_DATA || (idx < count - 1 && len !== FRAG_DATA)) {
      throw new RelayProtocolError('bad fragment header');
    }
    if (
      (count - 1) * FRAG_DATA + (idx === count - 1 ? len : 0) > this.maxMessage ||
      count * FRAG_DATA > this.maxMessage + FRAG_DATA
    ) {
      throw new RelayProtocolError(`relay message too large (${count} fragments)`);
    }
    // A single-cell message keeps a view of its cell (each cell is a fresh buffer, never reused).
    if (count === 1) return { cmd, data: cell.subarray(b + FRAG_HEADER, b + FRAG_HEADER + len) };
    const cost = len + FRAGMENT_OVERHEAD;
    this.budget.reclaim(now, cost);
    let p = this.partial.get(msgId);
    if (p && (p.cmd !== cmd || p.parts.length !== count)) {
      this.drop(msgId);
      p = undefined;
    }
    if (!p) {
      while (this.partial.size >= this.maxPartials) this.drop(this.partial.keys().next().value!);
      p = { id: msgId, owner: this, cmd, parts: new Array(count), got: 0, bytes: 0, started: now };
      this.partial.set(msgId, p);
      this.budget.partials.add(p);
    }
    if (p.parts[idx]) return undefined; // duplicate fragment
    p.parts[idx] = cell.slice(b + FRAG_HEADER, b + FRAG_HEADER + len);
    p.got++;
    p.bytes += cost;
    this.bytes += cost;
    this.budget.bytes += cost;
    if (p.got < count) return undefined;
    this.drop(msgId);
    return { cmd, data: new Uint8Array(Buffer.concat(p.parts as Uint8Array[])) };
  }

  /** Bytes this circuit holds in partial messages (data plus per-fragment overhead). */
  get bufferedBytes(): number {
    return this.bytes;
  }

  drop(msgId: number): void {
    const p = this.partial.get(msgId);
    if (!p) return;
    this.bytes -= p.bytes;
    this.budget.bytes -= p.bytes;
    this.budget.partials.delete(p);
    this.partial.delete(msgId);
  }

  /** The circuit is gone: give its partial messages' bytes back to the budget. */
  clear(): void {
    for (const id of [...this.partial.keys()]) this.drop(id);
  }
}
