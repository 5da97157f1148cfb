// P2P framing: u16 size (header included) + u16 type + body, like the API, but with our own type
// numbers (>= 1000, never the API's 500-689) and a configurable size cap checked on the header
// alone, before any body is buffered.

export const FRAME_HEADER = 4;
/** The u16 size field caps every frame at 65535 bytes. */
export const MAX_FRAME_SIZE = 65535;

/** Thrown for anything a peer sent that breaks the protocol: the link closes with this reason. */
export class LinkViolation extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'LinkViolation';
  }
}

export interface Frame {
  type: number;
  /** The 4 header bytes, authenticated as AAD once the link is encrypted. */
  header: Uint8Array;
  body: Uint8Array;
}

export function encodeHeader(size: number, type: number): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER);
  const v = new DataView(h.buffer);
  v.setUint16(0, size);
  v.setUint16(2, type);
  return h;
}

/**
 * Splits a byte stream into frames; throws LinkViolation on a bad or oversize header. Whole frames
 * are cut straight out of each chunk; only the tail of an incomplete frame is kept, in a buffer that
 * grows by doubling (up to maxSize) and is filled in place. (Concatenating every chunk onto the held
 * bytes cost O(n^2): a 64 KiB frame sent 1 byte per segment took ~340 ms of CPU before the handshake.)
 */
export class FrameReader {
  private buf = new Uint8Array(256);
  private have = 0;

  constructor(private readonly maxSize: number) {}

  /** Bytes held waiting for the rest of a frame (bounded by maxSize). */
  get buffered(): number {
    return this.have;
  }

  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    let off = 0;
    // Finish the frame left over from earlier chunks: its header first, then its body.
    if (this.have > 0) {
      if (this.have < FRAME_HEADER) {
        const take = Math.min(FRAME_HEADER - this.have, chunk.length);
        this.buf.set(chunk.subarray(0, take), this.have);
        this.have += take;
        off = take;
        if (this.have < FRAME_HEADER) return frames;
      }
      const size = this.checkSize(this.buf, 0);
      this.grow(size);
      const take = Math.min(size - this.have, chunk.length - off);
      this.buf.set(chunk.subarray(off, off + take), this.have);
      this.have += take;
      off += take;
      if (this.have < size) return frames;
      frames.push(frameAt(this.buf, 0, size));
      this.have = 0;
    }
    while (chunk.length - off >= FRAME_HEADER) {
      const size = this.checkSize(chunk, off);
      if (chunk.length - off < size) break;
      frames.push(frameAt(chunk, off, size));
      off += size;
    }
    // The tail: less than a header, or a checked header and part of its body.
    if (off < chunk.length) {
      this.grow(chunk.length - off);
      this.buf.set(chunk.subarray(off), 0);
      this.have = chunk.length - off;
    }
    return frames;
  }

  /** The size field at `off` (a whole header is there), checked against the limits. */
  private checkSize(b: Uint8Array, off: number): number {
    const size = (b[off]! << 8) | b[off + 1]!;
    if (size < FRAME_HEADER) throw new LinkViolation(`frame size ${size} < ${FRAME_HEADER}`);
    if (size > this.maxSize) throw new LinkViolation(`frame size ${size} > limit ${this.maxSize}`);
    return size;
  }

  /** Room for `size` bytes, keeping what is held; doubling, so n bytes cost O(n) copying in all. */
  private grow(size: number): void {
    if (this.buf.length >= size) return;
    const next = new Uint8Array(Math.max(size, Math.min(this.maxSize, 2 * this.buf.length)));
    next.set(this.buf.subarray(0, this.have));
    this.buf = next;
  }
}

/** A frame's header and body as fresh copies (the caller may keep them; the source is reused). */
function frameAt(b: Uint8Array, off: number, size: number): Frame {
  return {
    type: (b[off + 2]! << 8) | b[off + 3]!,
    header: b.slice(off, off + FRAME_HEADER),
    body: b.slice(off + FRAME_HEADER, off + size),
  };
}
