// The transport-independent half of a link (linkflow.ts) over a CellSink that only records writes,
// as a UDP transport would plug in: one write per loop turn, the credit window, control cells beyond
// it, per-circuit queues drained in turn, CREDIT for handled cells.
import { describe, expect, it } from 'vitest';
import { CellCmd, newCell, PAYLOAD_OFFSET } from '../../relay/onion/cell.ts';
import { type CellSink, LinkFlow } from '../../relay/onion/linkflow.ts';

class Sink implements CellSink {
  queuedBytes = 0;
  writes: Uint8Array[][] = [];
  drained: (() => void)[] = [];
  writeCells(cells: readonly Uint8Array[]): void {
    this.writes.push([...cells]);
  }
  onceDrained(fn: () => void): void {
    this.drained.push(fn);
  }
}

const tick = () => new Promise((r) => process.nextTick(r));
const relay = (circ: number) => newCell(circ, CellCmd.RELAY);
const opts = {
  window: 4,
  creditEvery: 2,
  maxQueuedBytes: 1 << 20,
  circuitQueueCells: 8,
  circuitQueueMs: 10_000,
};

describe('LinkFlow', () => {
  it('writes the cells of one loop turn together, and no more than the window until credited', async () => {
    const sink = new Sink();
    const flow = new LinkFlow(sink, opts);
    for (let i = 0; i < 6; i++) flow.send(relay(1 + (i % 2)));
    expect(sink.writes).toEqual([]); // not inside send()
    await tick();
    expect(sink.writes.map((w) => w.length)).toEqual([4]); // one write, the window's worth
    flow.send(newCell(3, CellCmd.DESTROY)); // control cells never wait for the window
    await tick();
    expect(sink.writes[1]!.map((c) => c[4])).toEqual([CellCmd.DESTROY]);
    // In flight: 4 RELAY + the DESTROY (control cells are credited like any other); more is a violation.
    expect(flow.credit(6)).toMatch(/only 5 in flight/);
    expect(flow.credit(3)).toBeUndefined(); // 2 in flight: room for the two that waited
    await tick();
    expect(sink.writes[2]!.length).toBe(2);
  });

  it('drains waiting circuits in turn and returns CREDIT for every creditEvery cells handled', async () => {
    const sink = new Sink();
    const flow = new LinkFlow(sink, { ...opts, window: 2 });
    for (const c of [1, 1, 1, 1, 2]) flow.send(relay(c));
    await tick();
    expect(flow.credit(2)).toBeUndefined();
    await tick();
    // Circuit 1 had two cells out already; of the waiting ones circuit 2 is not starved behind circuit 1.
    const ids = (w: Uint8Array[]) => w.map((c) => c[3]);
    expect(ids(sink.writes[1]!)).toEqual([1, 2]);
    flow.consume();
    flow.consume();
    await tick();
    const credit = sink.writes[2]![0]!;
    expect(credit[4]).toBe(CellCmd.CREDIT);
    expect(new DataView(credit.buffer).getUint32(PAYLOAD_OFFSET)).toBe(2);
  });

  it('waits for the transport to drain when it holds too many bytes', async () => {
    const sink = new Sink();
    const flow = new LinkFlow(sink, { ...opts, maxQueuedBytes: 100 });
    sink.queuedBytes = 1000;
    flow.send(relay(1));
    await tick();
    expect(sink.writes).toEqual([]);
    expect(sink.drained.length).toBe(1);
    sink.queuedBytes = 0;
    sink.drained[0]!();
    expect(sink.writes.map((w) => w.length)).toEqual([1]);
  });
});
