// The contract between the API server (framing, limits, violations) and a module's API side.
import type { ApiMessage } from '../../shared/wire/types.ts';
import type { Ingress } from '../ingress.ts';

/** Throw from a handler to close that API connection with a logged reason (an API violation). */
export class ApiViolation extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ApiViolation';
  }
}

/** One client connection to a module's API socket, as the module sees it. */
export interface ApiConnection {
  /** Unique per server, for logs and maps. */
  readonly id: number;
  /** "ip:port" of the client. */
  readonly remote: string;
  readonly closed: boolean;
  /**
   * Queue a message to the client. Returns false if it was not queued: the connection is closed,
   * or its outbound queue overflowed (then the connection is closed with a logged reason).
   */
  send(msg: ApiMessage): boolean;
  /** Close with a reason that is logged. Idempotent. */
  close(reason: string): void;
}

export interface ApiHandler {
  /** Message types a client may send to this module; anything else is an API violation. */
  readonly accepts: ReadonlySet<number>;
  onConnect?(conn: ApiConnection): void;
  /** Throwing (sync or async) ApiViolation closes only that connection; other errors are logged and close it too. */
  onMessage(conn: ApiConnection, msg: ApiMessage): void | Promise<void>;
  onDisconnect?(conn: ApiConnection): void;
  /** Messages wait in this input queue (relay/ingress.ts) and are handled from it; none: at once. */
  readonly ingress?: Ingress;
  /** Message types that queue may drop when they waited too long (best-effort data). */
  readonly sheddable?: ReadonlySet<number>;
}

export interface ApiServerLimits {
  /** Max simultaneous API connections (further ones are closed at once). */
  maxConnections: number;
  /** Max bytes queued towards one client before it is considered stuck and closed. */
  maxQueuedBytes: number;
}

export const DEFAULT_API_LIMITS: ApiServerLimits = {
  maxConnections: 256,
  maxQueuedBytes: 4 * 1024 * 1024,
};
