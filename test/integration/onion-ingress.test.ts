// Flow control and a busy relay on real links: RELAY cells that waited too long in the input queue are
// dropped, other cells never are, and dropped cells are credited to the sender, so the link goes on
// afterwards; peers with different windows never stall; a peer that ignores the window is cut off.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { Ingress } from '../../relay/ingress.ts';
import { createLogger } from '../../relay/log.ts';
import { CellCmd, CMD_OFFSET, newCell, PAYLOAD_OFFSET } from '../../relay/onion/cell.ts';
import { dialLink, type Link, type LinkContext, MAX_WINDOW } from '../../relay/onion/link.ts';
import { LinkManager } from '../../relay/onion/links.ts';
import { OnionKeys } from '../../relay/onion/onionkey.ts';
import { getKeys } from '../keypool.ts';
import { waitFor } from './onion-support.ts';

const WINDOW = 16;
let hk: Hostkey[] = [];
const keys: OnionKeys[] = [];
const stop: (() => unknown)[] = [];

beforeAll(async () => {
  hk = await Promise.all((await getKeys(2)).map(loadHostkey));
});
afterAll(async () => {
  for (const s of stop) await s();
  for (const k of keys) k.stop();
});

function ctx(key: Hostkey, ingress?: Ingress, more: Partial<LinkContext> = {}): LinkContext {
  const k = new OnionKeys(key, 3_600_000);
  keys.push(k);
  return {
    identity: key.identity,
    der: key.spkiDer,
    keys: k,
    log: createLogger('t', 'silent'),
    handshakeTimeoutMs: 3000,
    maxQueuedBytes: 1 << 20,
    circuitQueueCells: 100,
    windowCells: WINDOW,
    creditEvery: WINDOW / 2,
    partialCellTimeoutMs: 1000,
    ingress,
    ...more,
  };
}

function relayCell(seq: number): Uint8Array {
  const c = newCell(7, CellCmd.RELAY);
  new DataView(c.buffer).setUint32(PAYLOAD_OFFSET, seq);
  return c;
}
const seqOf = (c: Uint8Array) => new DataView(c.buffer, c.byteOffset).getUint32(PAYLOAD_OFFSET);

/** A listening relay whose links hand cells to onCell; resolves to its port. */
async function relay(c: LinkContext, onCell: (cell: Uint8Array) => void, closed?: (why: string) => void) {
  const links = new LinkManager({
    ...c,
    maxLinks: 4,
    idleLinkMs: 60_000,
    circuitsOn: () => 1,
    onLink: (l: Link) => {
      l.onCell = onCell;
    },
    onLinkClosed: (_l, why) => closed?.(why),
  });
  stop.push(() => links.close());
  return links.listen('127.0.0.1', 0);
}

async function dial(port: number, c: LinkContext): Promise<Link> {
  const link = await dialLink(c, '127.0.0.1', port, hk[0]!.identity);
  stop.push(() => link.close('test over'));
  return link;
}

it('drops stale RELAY cells in a busy relay, keeps the rest, and credits both', async () => {
  const ingress = new Ingress({ maxAgeMs: 20 });
  const got: Uint8Array[] = [];
  let busy = true;
  const port = await relay(ctx(hk[0]!, ingress), (cell) => {
    got.push(cell);
    // The first cell keeps the relay busy for 60 ms while the rest of its write waits behind it.
    if (busy) for (const end = performance.now() + 60; performance.now() < end; );
    busy = false;
  });
  const link = await dial(port, ctx(hk[1]!));

  // One write: 12 RELAY cells and a DESTROY (13 < the window, so none waits for CREDIT).
  for (let i = 0; i < 12; i++) link.send(relayCell(i));
  link.send(newCell(7, CellCmd.DESTROY));
  await waitFor(() => got.some((c) => c[CMD_OFFSET] === CellCmd.DESTROY), 5000, 'the DESTROY');
  expect(got.map((c) => (c[CMD_OFFSET] === CellCmd.RELAY ? seqOf(c) : 'DESTROY'))).toEqual([0, 'DESTROY']);
  expect(ingress.dropped).toBe(11);

  // 40 more cells need the peer to credit the 11 dropped ones too: the window holds 16.
  got.length = 0;
  for (let i = 100; i < 140; i++) link.send(relayCell(i));
  await waitFor(() => got.length >= 40, 5000, '40 cells through a 16-cell window');
  expect(got.map(seqOf)).toEqual(Array.from({ length: 40 }, (_, i) => 100 + i));
  expect(link.stats.dropped).toBe(0);
});

it('never stalls between peers with different windows (CREDIT does not depend on the window)', async () => {
  let got = 0;
  const port = await relay(
    ctx(hk[0]!, new Ingress({ maxAgeMs: 10_000 }), { windowCells: 8192, creditEvery: undefined }),
    () => got++,
  );
  const link = await dial(
    port,
    ctx(hk[1]!, undefined, { windowCells: 256, creditEvery: undefined, circuitQueueCells: 4000 }),
  );
  for (let i = 0; i < 3000; i++) link.send(relayCell(i));
  await waitFor(() => got >= 3000, 10_000, '3,000 cells through a 256-cell window');
  expect(link.stats.dropped).toBe(0);
});

it('cuts off a peer that sends far more than the largest window without credit', async () => {
  let why = '';
  const ingress = new Ingress({ maxAgeMs: 60_000, budgetMs: 1 });
  const slow = () => {
    for (const end = performance.now() + 0.2; performance.now() < end; );
  };
  const port = await relay(ctx(hk[0]!, ingress, { creditEvery: undefined }), slow, (w) => (why = w));
  // This peer's "window" is far beyond the protocol's: it just keeps sending.
  const flood = {
    windowCells: 1 << 20,
    creditEvery: undefined,
    circuitQueueCells: 1 << 20,
    maxQueuedBytes: 1 << 30,
  };
  const link = await dial(port, ctx(hk[1]!, undefined, flood));
  for (let i = 0; i < 2 * MAX_WINDOW + 2000; i++) link.send(relayCell(i));
  await waitFor(() => why !== '', 20_000, 'the link to be closed');
  expect(why).toMatch(/ignored flow control/);
});

it('sends DESTROY at once even when the window is shut and the circuit queues are full', async () => {
  const got: number[] = [];
  const port = await relay(ctx(hk[0]!), (cell) => cell[CMD_OFFSET] === CellCmd.DESTROY && got.push(cell[3]!));
  const link = await dial(port, ctx(hk[1]!, undefined, { maxQueuedBytes: 16 * 1024, circuitQueueCells: 50 }));
  // As if the peer had stopped crediting: nothing more may go out under the window.
  (link as unknown as { inflight: number }).inflight = WINDOW;
  for (let circ = 1; circ <= 3; circ++) for (let i = 0; i < 50; i++) link.send(newCell(circ, CellCmd.RELAY));
  expect(link.stats.dropped).toBeGreaterThan(0); // the link's queues are full
  link.send(newCell(9, CellCmd.DESTROY));
  await waitFor(() => got.includes(9), 5000, 'the DESTROY');
});
