// Per-circuit queues of a congested link: bounded, oldest dropped, drained round-robin.
import { describe, expect, it } from 'vitest';
import { CELL_SIZE, setCircId } from '../../relay/onion/cell.ts';
import { CircuitQueues } from '../../relay/onion/cellqueue.ts';

function cell(circ: number, n: number): Uint8Array {
  const c = new Uint8Array(CELL_SIZE);
  setCircId(c, circ);
  c[10] = n;
  return c;
}

describe('circuit queues', () => {
  it('drop the oldest cell of a full circuit queue only', () => {
    const q = new CircuitQueues(3);
    for (let i = 0; i < 5; i++) q.push(cell(1, i));
    q.push(cell(2, 9));
    expect(q.size).toBe(4);
    expect(q.dropped).toBe(2);
    const out = q.take(10);
    expect(out.map((c) => c[10])).toEqual([2, 9, 3, 4]);
  });

  it('drain round-robin so a busy circuit does not starve a quiet one', () => {
    const q = new CircuitQueues(100);
    for (let i = 0; i < 50; i++) q.push(cell(1, i));
    q.push(cell(2, 200));
    const first = q.take(2);
    expect(first.map((c) => c[10])).toEqual([0, 200]);
    expect(q.size).toBe(49);
  });

  it('drop cells that waited longer than the age limit', () => {
    const q = new CircuitQueues(100, 100);
    q.push(cell(1, 1), 0);
    q.push(cell(1, 2), 70);
    q.push(cell(2, 3), 120);
    const out = q.take(10, 160); // cell 1 waited 160 ms: stale
    expect(out.map((c) => c[10])).toEqual([2, 3]);
    expect(q.dropped).toBe(1);
    expect(q.size).toBe(0);
  });

  it('cap the cells of all circuits of a link, at the cost of the longest queue', () => {
    const q = new CircuitQueues(100, Number.POSITIVE_INFINITY, 3);
    for (let i = 1; i <= 3; i++) q.push(cell(1, i)); // a busy circuit fills the link
    q.push(cell(2, 9)); // a quiet circuit's one cell still gets in: circuit 1 loses its oldest
    expect(q.size).toBe(3);
    expect(q.dropped).toBe(1);
    expect(q.take(10).map((c) => c[10])).toEqual([2, 9, 3]);
  });

  it('on a tie, the pushing circuit pays', () => {
    const q = new CircuitQueues(100, Number.POSITIVE_INFINITY, 3);
    q.push(cell(1, 1));
    q.push(cell(1, 2));
    q.push(cell(2, 3));
    q.push(cell(2, 4)); // link full: circuit 2 loses its own oldest
    expect(q.size).toBe(3);
    expect(q.take(10).map((c) => c[10])).toEqual([1, 4, 2]);
  });
});
