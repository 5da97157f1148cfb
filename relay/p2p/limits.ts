// Per-link limits. Parser free of policy; these are the safe defaults at the public edge, and
// every module may override them from its config.

export interface LinkLimits {
  /** Largest frame accepted or sent, header included (<= 65535). */
  maxFrameSize: number;
  /** HELLO + AUTH must complete within this (ms), or the connection is dropped. */
  handshakeTimeoutMs: number;
  /** A link that receives nothing for this long (ms) is closed; PINGs keep quiet links alive. */
  idleTimeoutMs: number;
  /** Token bucket on received frames: rate per second and burst. */
  msgsPerSec: number;
  msgBurst: number;
  /** Token bucket on received bytes: rate per second and burst. */
  bytesPerSec: number;
  byteBurst: number;
  /** Bytes queued towards a peer before the link is considered stuck and dropped. */
  maxQueuedBytes: number;
}

export const DEFAULT_LINK_LIMITS: LinkLimits = {
  maxFrameSize: 65535,
  // A half-open handshake holds a listener slot (and a per-IP handshaking slot) until this deadline.
  // 10 s used to let a crowd of silent sockets hold the slots for 10 s each. An RSA-4096 handshake
  // takes 0.2-0.4 s on this 2-core box at load 25 one at a time (p99 0.37 s), 16 at once with
  // both ends in one process p99 3.1 s (npm run bench -- p2p); dials that miss it are retried.
  handshakeTimeoutMs: 3_000,
  idleTimeoutMs: 90_000,
  msgsPerSec: 500,
  msgBurst: 1000,
  bytesPerSec: 4 * 1024 * 1024,
  byteBurst: 8 * 1024 * 1024,
  maxQueuedBytes: 4 * 1024 * 1024,
};
