// Per-direction AES-256-GCM for frame bodies after the handshake. The nonce is a frame counter
// (never reused: one key per direction per link); the clear header (size, type) is the AAD, so a
// peer or a man in the middle cannot change, drop-and-replace, reorder or replay any frame.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { LinkViolation } from './frame.ts';

export const TAG_SIZE = 16;

function nonce(counter: bigint): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(counter, 4);
  return n;
}

export class FrameSealer {
  private counter = 0n;
  constructor(private readonly key: Uint8Array) {}

  seal(header: Uint8Array, body: Uint8Array): Uint8Array {
    const c = createCipheriv('aes-256-gcm', this.key, nonce(this.counter++));
    c.setAAD(header);
    const ct = Buffer.concat([c.update(body), c.final(), c.getAuthTag()]);
    return new Uint8Array(ct.buffer, ct.byteOffset, ct.length);
  }
}

export class FrameOpener {
  private counter = 0n;
  constructor(private readonly key: Uint8Array) {}

  open(header: Uint8Array, sealed: Uint8Array): Uint8Array {
    if (sealed.length < TAG_SIZE) throw new LinkViolation('encrypted frame shorter than its tag');
    const d = createDecipheriv('aes-256-gcm', this.key, nonce(this.counter++));
    d.setAAD(header);
    d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
    try {
      const pt = Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_SIZE)), d.final()]);
      return new Uint8Array(pt.buffer, pt.byteOffset, pt.length);
    } catch {
      throw new LinkViolation('frame failed authentication');
    }
  }
}
