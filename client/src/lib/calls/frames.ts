// Per-frame AEAD for a call: ChaCha20-Poly1305, nonce = 4 zero bytes || 64-bit counter, the frame
// header as associated data. Each direction has its own key, so counters never collide; a sliding
// window rejects replayed frames while tolerating the onion's reordering.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { u64 } from '../crypto/bytes.ts';
import type { SessionKeys } from './handshake.ts';
import { decodeCallFrame, sealedHeader } from './wire.ts';

export const REPLAY_WINDOW = 1024;

function nonce(counter: number): Uint8Array {
  const n = new Uint8Array(12);
  n.set(u64(counter), 4);
  return n;
}

export class FrameCipher {
  private sendCounter = 0;
  private highest = -1;
  /** Counters seen within the window below `highest` (bounded by REPLAY_WINDOW). */
  private readonly seen = new Set<number>();

  constructor(
    private readonly keys: SessionKeys,
    private readonly callId: Uint8Array,
  ) {}

  /** Continues the send counter at `counter` (after filler sent under the same header before the keys). */
  skipTo(counter: number): void {
    this.sendCounter = Math.max(this.sendCounter, counter);
  }

  seal(plaintext: Uint8Array): Uint8Array {
    const counter = this.sendCounter++;
    const header = sealedHeader(this.callId, counter);
    const ct = chacha20poly1305(this.keys.send, nonce(counter), header).encrypt(plaintext);
    const out = new Uint8Array(header.length + ct.length);
    out.set(header);
    out.set(ct, header.length);
    return out;
  }

  /** Plaintext, or null for anything forged, damaged, replayed or too old. Never throws. */
  open(frame: Uint8Array): Uint8Array | null {
    let counter: number;
    let plaintext: Uint8Array;
    try {
      const f = decodeCallFrame(frame);
      if (f.kind !== 3) return null;
      counter = f.counter;
      if (counter <= this.highest - REPLAY_WINDOW || this.seen.has(counter)) return null;
      plaintext = chacha20poly1305(this.keys.recv, nonce(counter), f.aad).decrypt(f.ciphertext);
    } catch {
      return null;
    }
    // Only authenticated frames move the window.
    this.seen.add(counter);
    if (counter > this.highest) {
      this.highest = counter;
      for (const c of this.seen) if (c <= this.highest - REPLAY_WINDOW) this.seen.delete(c);
    }
    return plaintext;
  }
}
