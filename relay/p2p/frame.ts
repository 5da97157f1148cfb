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

/** Splits a byte stream into frames; throws LinkViolation on a bad or oversize header. */
export class FrameReader {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(private readonly maxSize: number) {}

  /** Bytes held waiting for the rest of a frame (bounded by maxSize). */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : concat(this.buf, chunk);
    const frames: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= FRAME_HEADER) {
      const size = (this.buf[off]! << 8) | this.buf[off + 1]!;
      const type = (this.buf[off + 2]! << 8) | this.buf[off + 3]!;
      if (size < FRAME_HEADER) throw new LinkViolation(`frame size ${size} < ${FRAME_HEADER}`);
      if (size > this.maxSize) throw new LinkViolation(`frame size ${size} > limit ${this.maxSize}`);
      if (this.buf.length - off < size) break;
      frames.push({
        type,
        header: this.buf.slice(off, off + FRAME_HEADER),
        body: this.buf.slice(off + FRAME_HEADER, off + size),
      });
      off += size;
    }
    this.buf = off === this.buf.length ? new Uint8Array(0) : this.buf.slice(off);
    return frames;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
