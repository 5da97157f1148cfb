// Gossip's API side: ANNOUNCE, NOTIFY and VALIDATION from local modules (api-wire-format.md).
import type { ApiMessage } from '../../shared/wire/types.ts';
import type { ApiConnection, ApiHandler } from '../api/types.ts';
import type { Spreader } from './spreader.ts';
import type { Subscriptions } from './subscriptions.ts';

export class GossipApi implements ApiHandler {
  readonly accepts: ReadonlySet<number> = new Set([500, 501, 503]);

  constructor(
    private readonly subs: Subscriptions,
    private readonly spreader: Spreader,
  ) {}

  onMessage(conn: ApiConnection, msg: ApiMessage): void {
    switch (msg.type) {
      case 500:
        this.spreader.announce(conn.id, msg);
        return;
      case 501:
        this.subs.subscribe(conn, msg.dataType);
        return;
      case 503:
        this.spreader.validation(conn.id, msg.messageId, msg.valid);
        return;
    }
  }

  onDisconnect(conn: ApiConnection): void {
    this.spreader.subscriberGone(conn.id, this.subs.drop(conn.id));
  }
}
