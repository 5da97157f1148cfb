// Gossip's pure parts: P2P codecs, knowledge base, subscriptions, address book, config.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApiConnection } from '../../relay/api/types.ts';
import { parseConfigText } from '../../relay/config.ts';
import { AddressBook } from '../../relay/gossip/book.ts';
import { readGossipConfig } from '../../relay/gossip/config.ts';
import { BoundedMap, itemId, KnowledgeBase, newItem, onwardTtl } from '../../relay/gossip/knowledge.ts';
import {
  decodeDigest,
  decodePeers,
  decodePush,
  encodeDigest,
  encodePeers,
  encodePush,
} from '../../relay/gossip/protocol.ts';
import { Subscriptions } from '../../relay/gossip/subscriptions.ts';
import { LinkViolation } from '../../relay/p2p/index.ts';

describe('gossip P2P codecs', () => {
  it('round-trip PUSH, DIGEST and PEERS', () => {
    const push = { ttl: 3, pulled: true, dataType: 0xabcd, data: new Uint8Array([1, 2]) };
    expect(decodePush(encodePush(push))).toEqual(push);
    const digest = { types: [1, 65535], ids: [new Uint8Array(32).fill(7)] };
    expect(decodeDigest(encodeDigest(digest))).toEqual(digest);
    const peers = [
      { identity: new Uint8Array(32).fill(1), address: { host: '127.0.0.1', port: 6001 } },
      { identity: new Uint8Array(32).fill(2), address: { host: '2001:db8::1', port: 65535 } },
    ];
    expect(decodePeers(encodePeers(peers))).toEqual(peers);
  });

  it('golden PUSH bytes', () => {
    const b = encodePush({ ttl: 0, pulled: false, dataType: 500, data: new Uint8Array([0xaa]) });
    expect([...b]).toEqual([0, 0, 0x01, 0xf4, 0xaa]);
  });

  it('reject bad flags, counts, lengths, families and ports', () => {
    expect(() => decodePush(new Uint8Array([0, 2, 0, 1]))).toThrow(/flags/);
    expect(() => decodeDigest(new Uint8Array([0x01, 0x01, 0, 0]))).toThrow(/types/);
    expect(() => decodeDigest(new Uint8Array([0, 0, 0, 1]))).toThrow(/length/);
    expect(() => decodePeers(new Uint8Array([33]))).toThrow(/records/);
    const rec = encodePeers([{ identity: new Uint8Array(32), address: { host: '10.0.0.1', port: 1 } }]);
    const badFamily = rec.slice();
    badFamily[33] = 5;
    expect(() => decodePeers(badFamily)).toThrow(/family/);
    const port0 = rec.slice();
    port0[port0.length - 1] = 0;
    expect(() => decodePeers(port0)).toThrow(/port 0/);
    expect(() => decodePeers(new Uint8Array([...rec, 0]))).toThrow(/trailing/);
  });

  it('any bytes either decode or raise a LinkViolation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        for (const decode of [decodePush, decodeDigest, decodePeers]) {
          try {
            decode(b);
          } catch (e) {
            expect(e).toBeInstanceOf(LinkViolation);
          }
        }
      }),
    );
  });
});

describe('knowledge base', () => {
  it('ids depend on type and data, not TTL', () => {
    const d = new Uint8Array([1]);
    expect(itemId(1, d)).toEqual(newItem(1, d, 9, true).idBytes);
    expect(itemId(1, d)).not.toEqual(itemId(2, d));
  });

  it('TTL: 0 unlimited, 1 last hop, n -> n-1', () => {
    expect(onwardTtl(0)).toBe(0);
    expect(onwardTtl(1)).toBeUndefined();
    expect(onwardTtl(5)).toBe(4);
  });

  it('holds at most cache_size items, oldest out, and remembers evicted ids as seen', () => {
    const kb = new KnowledgeBase(3);
    const items = [1, 2, 3, 4].map((i) => newItem(1, new Uint8Array([i]), 0, true));
    for (const it of items) {
      kb.markSeen(it.id);
      kb.store(it);
    }
    expect(kb.items.size).toBe(3);
    expect(kb.get(items[0]!.id)).toBeUndefined();
    expect(kb.get(items[3]!.id)).toBeDefined();
    expect(kb.hasSeen(items[0]!.id)).toBe(true);
  });

  it('BoundedMap caps any sequence of inserts', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 100 }), (keys) => {
        const m = new BoundedMap<number>(5);
        for (const k of keys) m.set(k, 1);
        expect(m.size).toBeLessThanOrEqual(5);
      }),
    );
  });
});

function fakeConn(id: number, sent: unknown[] = []): ApiConnection {
  return {
    id,
    remote: 'x',
    closed: false,
    send: (m) => {
      sent.push(m);
      return true;
    },
    close: () => {},
  };
}

describe('subscriptions', () => {
  it('notifies every subscriber but the announcer, with fresh message ids', () => {
    const s = new Subscriptions();
    const sentA: { messageId: number }[] = [];
    const a = fakeConn(1, sentA);
    const b = fakeConn(2);
    s.subscribe(a, 7);
    s.subscribe(b, 7);
    expect(s.notify(7, new Uint8Array(0), 'i1', 2)).toEqual([1]);
    expect(s.notify(7, new Uint8Array(0), 'i2')).toEqual([1, 2]);
    expect(sentA[0]!.messageId).not.toBe(sentA[1]!.messageId);
    expect(s.answer(1, sentA[1]!.messageId)).toBe('i2');
    expect(s.answer(1, sentA[1]!.messageId)).toBeUndefined(); // answered once only
    expect(s.drop(1)).toEqual(['i1']);
    expect(s.types()).toEqual([7]);
    s.drop(2);
    expect(s.has(7)).toBe(false);
  });
});

describe('address book', () => {
  it('keeps every source of an address, skips itself, backs off and forgets failing entries', () => {
    const book = new AddressBook(10, 100, 'me');
    book.addBootstrap({ host: '127.0.0.1', port: 1 });
    book.learn({ host: '127.0.0.1', port: 2 }, 'p2', 'src1');
    book.learn({ host: '127.0.0.1', port: 2 }, 'p2', 'src2');
    book.learn({ host: '127.0.0.1', port: 3 }, 'me', 'src1');
    const due = book.due(0);
    expect(due.map((e) => e.key).sort()).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    expect([...due.find((e) => e.key === '127.0.0.1:2')!.sources]).toEqual(['src1', 'src2']);
    book.failed('127.0.0.1:2', 0);
    expect(book.due(0).map((e) => e.key)).toEqual(['127.0.0.1:1']);
    for (let i = 0; i < 10; i++) {
      book.failed('127.0.0.1:2', 0);
      book.failed('127.0.0.1:1', 0);
    }
    expect(book.due(Number.MAX_SAFE_INTEGER).map((e) => e.key)).toEqual(['127.0.0.1:1']); // bootstrap stays
  });

  it('is bounded', () => {
    const book = new AddressBook(5, 100, 'me');
    for (let i = 1; i <= 50; i++) book.learn({ host: '10.0.0.1', port: i }, `p${i}`, 's');
    expect(book.size).toBe(5);
  });
});

describe('[gossip] config', () => {
  const parse = (body: string) =>
    readGossipConfig(parseConfigText('/x/peer.ini', `hostkey = k.pem\n[gossip]\n${body}`).section('gossip')!);

  it('applies defaults and reads bootstrapper lists', () => {
    const c = parse(
      'api_address = 127.0.0.1:7001\np2p_address = 127.0.0.1:6001\nbootstrapper = 10.0.0.1:6001, [::1]:6002',
    );
    expect(c.degree).toBe(8);
    expect(c.cacheSize).toBe(50);
    expect(c.powBits).toBe(16);
    expect(c.bootstrappers).toEqual([
      { host: '10.0.0.1', port: 6001 },
      { host: '::1', port: 6002 },
    ]);
  });

  it('names file, section and key in errors', () => {
    expect(() => parse('api_address = 127.0.0.1:7001\np2p_address = 127.0.0.1:6001\ndegree = 0')).toThrow(
      /peer.ini: \[gossip\] degree/,
    );
    expect(() => parse('api_address = 127.0.0.1:7001')).toThrow(/p2p_address/);
    expect(() =>
      parse('api_address = 127.0.0.1:7001\np2p_address = 127.0.0.1:6001\ndegree = 10\nmax_connections = 5'),
    ).toThrow(/max_connections/);
  });
});
