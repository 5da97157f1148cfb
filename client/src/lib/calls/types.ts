// The shapes shared by the call session, the manager and the UI/audio code.

export type CallState = 'connecting' | 'ringing' | 'incoming' | 'connected' | 'ended';
export type EndReason =
  | 'hangup-local'
  | 'hangup-remote'
  | 'rejected'
  | 'declined'
  | 'busy'
  | 'refused'
  | 'no-answer'
  | 'missed'
  | 'failed';

export interface CallTimings {
  /** Resend interval for the offer and unacknowledged control messages. */
  retransmitMs: number;
  /** Copies of one control message before the peer counts as gone. */
  maxTries: number;
  /** Keepalive while connected; the call fails after `idleTimeoutMs` without an authentic frame. */
  keepaliveMs: number;
  idleTimeoutMs: number;
  /** How long an incoming call rings; how long a caller waits for an answer overall. */
  ringTimeoutMs: number;
  /** After the end: keep acknowledging the peer's retransmissions this long, then close. */
  lingerMs: number;
}

export const DEFAULT_TIMINGS: CallTimings = {
  retransmitMs: 300,
  maxTries: 40,
  keepaliveMs: 1000,
  idleTimeoutMs: 15_000,
  ringTimeoutMs: 45_000,
  lingerMs: 2000,
};

export interface CallTransport {
  /** Resolves when the tunnel is up (the caller's is built for the next round); rejects if it can't be. */
  ready?: Promise<void>;
  send(bytes: Uint8Array): void;
  /** True while the tunnel is open (built and not destroyed): filler may go through it. */
  canSend?(): boolean;
  /** Called once, after the end and linger: destroy the tunnel. */
  close(): void;
}

export interface CallDeps {
  transport: CallTransport;
  sign: (data: Uint8Array) => Promise<Uint8Array>;
  ownIdentity: Uint8Array;
  ownSpki: Uint8Array;
  timings?: Partial<CallTimings>;
  now?: () => number;
}

export interface Peer {
  identity: Uint8Array;
  spki: Uint8Array;
}
