// The relay's input queue: order per source, sources in turn, stale best-effort items dropped, a
// bounded turn, bounds per source and in all.
import { describe, expect, it } from 'vitest';
import { Ingress } from '../../relay/ingress.ts';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
/** Uses `ms` of CPU time (busy() waits `ms` of wall time, which another process may take). */
const burn = (ms: number) => {
  const end = process.cpuUsage();
  while (process.cpuUsage(end).user + process.cpuUsage(end).system < ms * 1000);
};
const turn = () => new Promise((r) => setImmediate(r));
async function settled(q: Ingress): Promise<void> {
  for (let i = 0; i < 1000 && q.size > 0; i++) await turn();
  await turn();
}
const A = { name: 'A' };
const B = { name: 'B' };

describe('Ingress', () => {
  it('does every item of a source in arrival order when it keeps up', async () => {
    const q = new Ingress({ maxAgeMs: 1000 });
    const done: number[] = [];
    for (let i = 0; i < 100; i++) q.push(A, (stale) => !stale && done.push(i), i % 2 === 0);
    expect(done).toEqual([]); // later in this loop turn, not inside push
    await settled(q);
    expect(done).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(q.dropped).toBe(0);
  });

  it('drops sheddable items that waited too long, never the others', async () => {
    let drops = 0;
    const q = new Ingress({ maxAgeMs: 20, onDrop: () => drops++ });
    const seen: [number, boolean][] = [];
    q.push(A, () => busy(40), false); // the relay is busy for 40 ms...
    for (let i = 0; i < 10; i++) q.push(A, (stale) => seen.push([i, stale]), i !== 5); // ...while these wait
    await settled(q);
    expect(seen.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // each is told, in order
    expect(seen.filter(([, stale]) => !stale).map(([i]) => i)).toEqual([5]);
    expect(q.dropped).toBe(9);
    expect(drops).toBe(9);
  });

  it('lets sources take turns: a flood from one does not hold up or cost the others', async () => {
    const q = new Ingress({ maxAgeMs: 50, budgetMs: 2 });
    const done: string[] = [];
    for (let i = 0; i < 300; i++)
      q.push(
        A,
        (stale) => {
          if (stale) return;
          busy(0.5);
          done.push('A');
        },
        true,
      );
    q.push(B, (stale) => done.push(stale ? 'B dropped' : 'B'), true);
    await settled(q);
    expect(done.indexOf('B')).toBe(1); // B's one item right after A's first, whatever the budget
    expect(q.dropped).toBeGreaterThan(0); // A's flood went stale behind itself
  });

  it('keeps the turns across loop turns: the first source does not start every turn', async () => {
    const q = new Ingress({ maxAgeMs: 10_000, budgetMs: 0 }); // one item per loop turn
    const done: string[] = [];
    for (let i = 0; i < 3; i++) q.push(A, () => done.push('A'), true);
    for (let i = 0; i < 3; i++) q.push(B, () => done.push('B'), true);
    await settled(q);
    expect(done).toEqual(['A', 'B', 'A', 'B', 'A', 'B']);
  });

  it('gives the event loop back after its budget, and goes on where it stopped', async () => {
    const q = new Ingress({ maxAgeMs: 10_000, budgetMs: 5 });
    let done = 0;
    for (let i = 0; i < 64; i++)
      q.push(
        A,
        () => {
          busy(1);
          done++;
        },
        true,
      );
    let doneWhenIoRan = -1;
    setImmediate(() => setImmediate(() => (doneWhenIoRan = done)));
    await settled(q);
    expect(done).toBe(64);
    expect(doneWhenIoRan).toBeGreaterThan(0);
    expect(doneWhenIoRan).toBeLessThan(64);
  });

  it('is bounded per source: beyond it the oldest is dropped if it may be, else done at once', async () => {
    const q = new Ingress({ maxAgeMs: 10_000, maxPerSource: 4 });
    const log: string[] = [];
    q.push(A, (s) => log.push(`keep0${s ? ' dropped' : ''}`), false);
    for (let i = 1; i < 8; i++) q.push(A, (s) => log.push(`${i}${s ? ' dropped' : ''}`), true);
    q.push(B, () => log.push('B'), true); // another source still gets in
    expect(q.size).toBe(5);
    expect(log).toEqual(['keep0', '1 dropped', '2 dropped', '3 dropped']);
    await settled(q);
    expect(log.slice(4).sort()).toEqual(['4', '5', '6', '7', 'B']);
    expect(q.dropped).toBe(3);
  });

  it('is bounded in all: the source that pushes over the bound loses its own oldest', async () => {
    const q = new Ingress({ maxAgeMs: 10_000, maxItems: 3 });
    const log: string[] = [];
    q.push(B, (s) => log.push(`B${s ? ' dropped' : ''}`), true);
    for (let i = 0; i < 4; i++) q.push(A, (s) => log.push(`A${i}${s ? ' dropped' : ''}`), true);
    expect(log).toEqual(['A0 dropped', 'A1 dropped']);
    await settled(q);
    expect(log.slice(2)).toEqual(['B', 'A2', 'A3']);
  });

  it('goes on after an item throws, and reports it', async () => {
    const errors: unknown[] = [];
    const q = new Ingress({ maxAgeMs: 1000, onError: (e) => errors.push(e) });
    const done: number[] = [];
    q.push(A, () => done.push(1), false);
    q.push(
      A,
      () => {
        throw new Error('bug');
      },
      false,
    );
    q.push(A, () => done.push(3), false);
    await settled(q);
    expect(done).toEqual([1, 3]);
    expect(String(errors[0])).toMatch(/bug/);
  });

  it('counts as short of CPU when its work takes more than a share of a core over a window, for a while', async () => {
    // A share of 5 % rather than the default 50 %: the machine may give this process little CPU.
    const q = new Ingress({ maxAgeMs: 1000, shortWindowMs: 50, shortHoldMs: 100, shortCpu: 0.05 });
    const start = performance.now();
    while (performance.now() - start < 120) {
      q.push(A, () => {}, true); // a quick item every few ms: well under 5 % of a core
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(q.shortOfCpu()).toBe(false);
    const busyStart = performance.now();
    while (performance.now() - busyStart < 120) {
      q.push(A, () => burn(2), true); // all of the CPU this process gets
      await turn();
    }
    expect(q.shortOfCpu()).toBe(true);
    expect(q.shortEvents).toBe(1); // one episode, however many windows it lasted
    expect(q.shortOfCpu(performance.now() + 100)).toBe(false); // it ends when the work does
    // Waiting is not working: a relay held up elsewhere (another process has the CPU) is not short.
    const r = new Ingress({ maxAgeMs: 1000, shortWindowMs: 50, shortCpu: 0.05 });
    r.push(A, () => {}, true);
    busy(120);
    await settled(r);
    r.push(A, () => {}, true);
    await settled(r);
    expect(r.shortOfCpu()).toBe(false);
  });
});
