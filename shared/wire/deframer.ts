// Splits a TCP byte stream into whole API frames (header included). Browser-safe.

import { WireError } from './errors.ts';
import { HEADER_SIZE, MAX_MESSAGE_SIZE } from './types.ts';

export class Deframer {
  /** Holds at most one incomplete frame; grows up to MAX_MESSAGE_SIZE. */
  private buf = new Uint8Array(256);
  private have = 0;
  private error: WireError | null = null;

  /** Bytes of an incomplete frame currently buffered. */
  get pending(): number {
    return this.have;
  }

  /** Feed one chunk; returns the frames it completed (each a fresh copy). Throws WireError. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.error) throw new WireError(this.error.code, `deframer is dead after: ${this.error.message}`);
    try {
      return this.split(chunk);
    } catch (e) {
      if (e instanceof WireError) this.error = e;
      throw e;
    }
  }

  private split(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let off = 0;
    // Finish a frame left over from earlier chunks.
    if (this.have > 0) {
      if (this.have === 1 && chunk.length > 0) {
        this.buf[this.have++] = chunk[off++]!;
        this.checkSize((this.buf[0]! << 8) | this.buf[1]!);
      }
      if (this.have >= 2) {
        const size = (this.buf[0]! << 8) | this.buf[1]!;
        const take = Math.min(size - this.have, chunk.length - off);
        this.grow(size);
        this.buf.set(chunk.subarray(off, off + take), this.have);
        this.have += take;
        off += take;
        if (this.have === size) {
          frames.push(this.buf.slice(0, size));
          this.have = 0;
        }
      }
    }
    // Whole frames straight out of the chunk; the tail (if any) goes to the buffer.
    while (off < chunk.length) {
      const avail = chunk.length - off;
      if (avail >= 2) {
        const size = this.checkSize((chunk[off]! << 8) | chunk[off + 1]!);
        if (avail >= size) {
          frames.push(chunk.slice(off, off + size));
          off += size;
          continue;
        }
        this.grow(size);
      }
      this.buf.set(chunk.subarray(off), 0);
      this.have = avail;
      off = chunk.length;
    }
    return frames;
  }

  private checkSize(size: number): number {
    if (size < HEADER_SIZE) throw new WireError('SIZE_TOO_SMALL', `declared size ${size} < ${HEADER_SIZE}`);
    return size;
  }

  private grow(size: number): void {
    if (this.buf.length >= size) return;
    const next = new Uint8Array(Math.min(MAX_MESSAGE_SIZE, Math.max(size, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.have));
    this.buf = next;
  }
}
