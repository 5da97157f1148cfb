// The knowledge base's per-type quota: one data type may fill a cache nobody else uses, but once the
// cache is full it cannot push the other types' items out below half of cache_size.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Item, KnowledgeBase, newItem } from '../../relay/gossip/knowledge.ts';

const NSE = 520;
const JUNK = 7777;
let seq = 0;
const item = (type: number): Item => newItem(type, new TextEncoder().encode(`item ${++seq}`), 0, true);
const count = (kb: KnowledgeBase, type: number) =>
  [...kb.items.values()].filter((i) => i.dataType === type).length;

describe('knowledge base per-type quota', () => {
  it('a flood of one type does not evict the other types below half of cache_size', () => {
    const kb = new KnowledgeBase(50);
    const nse = Array.from({ length: 10 }, () => item(NSE));
    for (const i of nse) kb.store(i);
    for (let k = 0; k < 1000; k++) kb.store(item(JUNK));
    expect(kb.items.size).toBe(50);
    for (const i of nse) expect(kb.get(i.id), 'NSE item kept').toBeDefined();
    expect(count(kb, JUNK)).toBe(40);
  });

  it('one type alone may fill the cache; a newcomer type takes room from it, up to half', () => {
    const kb = new KnowledgeBase(50);
    const junk = Array.from({ length: 50 }, () => item(JUNK));
    for (const i of junk) kb.store(i);
    expect(count(kb, JUNK)).toBe(50);
    for (let k = 0; k < 40; k++) kb.store(item(NSE));
    expect(count(kb, NSE)).toBe(25);
    expect(count(kb, JUNK)).toBe(25);
    // Oldest out within each type.
    expect(kb.get(junk[24]!.id)).toBeUndefined();
    expect(kb.get(junk[25]!.id)).toBeDefined();
    for (let k = 0; k < 100; k++) kb.store(item(JUNK));
    expect(count(kb, NSE)).toBe(25);
  });

  it('never holds more than cache_size items, and storing an id twice changes nothing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 200 }),
        (cap, types) => {
          const kb = new KnowledgeBase(cap);
          for (const t of types) {
            const i = item(t);
            kb.store(i);
            kb.store(i);
            expect(kb.get(i.id)).toBe(i); // the newest item is always kept
            expect(kb.items.size).toBeLessThanOrEqual(cap);
          }
        },
      ),
    );
  });
});
