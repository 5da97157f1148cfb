// Which API connections subscribed (NOTIFY) to which data types, and the notifications each one
// still owes a VALIDATION for (by message ID). Everything per connection is bounded.
import type { ApiConnection } from '../api/types.ts';
import { ApiViolation } from '../api/types.ts';

export const MAX_TYPES_PER_CONNECTION = 1024;
export const MAX_OPEN_NOTIFICATIONS = 4096;

export interface Subscriber {
  conn: ApiConnection;
  types: Set<number>;
  nextId: number;
  /** message ID -> item id awaiting this subscriber's VALIDATION (oldest first). */
  open: Map<number, string>;
}

export class Subscriptions {
  private readonly byConn = new Map<number, Subscriber>();
  private readonly byType = new Map<number, Set<Subscriber>>();

  subscribe(conn: ApiConnection, dataType: number): void {
    let sub = this.byConn.get(conn.id);
    if (!sub) {
      sub = { conn, types: new Set(), nextId: Math.floor(Math.random() * 0x10000), open: new Map() };
      this.byConn.set(conn.id, sub);
    }
    if (sub.types.has(dataType)) return;
    if (sub.types.size >= MAX_TYPES_PER_CONNECTION) throw new ApiViolation('too many NOTIFY data types');
    sub.types.add(dataType);
    let set = this.byType.get(dataType);
    if (!set) {
      set = new Set();
      this.byType.set(dataType, set);
    }
    set.add(sub);
  }

  /** The connection went away: forget it, and return the item ids it still owed verdicts for. */
  drop(connId: number): string[] {
    const sub = this.byConn.get(connId);
    if (!sub) return [];
    this.byConn.delete(connId);
    for (const t of sub.types) {
      const set = this.byType.get(t)!;
      set.delete(sub);
      if (set.size === 0) this.byType.delete(t);
    }
    return [...sub.open.values()];
  }

  has(dataType: number): boolean {
    return this.byType.has(dataType);
  }

  types(): number[] {
    return [...this.byType.keys()];
  }

  /**
   * Send a NOTIFICATION (fresh message ID each) to every subscriber of the type except `except`.
   * Returns the connection ids that now owe a VALIDATION for `itemId`.
   */
  notify(dataType: number, data: Uint8Array, itemId: string, except?: number): number[] {
    const owed: number[] = [];
    for (const sub of this.byType.get(dataType) ?? []) {
      if (sub.conn.id === except) continue;
      const messageId = this.freshId(sub);
      if (sub.conn.send({ type: 502, messageId, dataType, data })) {
        sub.open.set(messageId, itemId);
        if (sub.open.size > MAX_OPEN_NOTIFICATIONS) sub.open.delete(sub.open.keys().next().value!);
        owed.push(sub.conn.id);
      }
    }
    return owed;
  }

  /** The item a VALIDATION answers (and forget the message ID), or undefined if unknown/expired. */
  answer(connId: number, messageId: number): string | undefined {
    const sub = this.byConn.get(connId);
    const itemId = sub?.open.get(messageId);
    if (itemId !== undefined) sub!.open.delete(messageId);
    return itemId;
  }

  private freshId(sub: Subscriber): number {
    do sub.nextId = (sub.nextId + 1) & 0xffff;
    while (sub.open.has(sub.nextId));
    return sub.nextId;
  }
}
