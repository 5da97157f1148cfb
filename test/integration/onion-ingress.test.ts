// A busy relay on a real link: RELAY cells that waited too long in its input queue are dropped, other
// cells never are, and dropped cells are credited to the sender, so the link goes on afterwards.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { Ingress } from '../../relay/ingress.ts';
import { createLogger } from '../../relay/log.ts';
import { CellCmd, CMD_OFFSET, newCell, PAYLOAD_OFFSET } from '../../relay/onion/cell.ts';
import { dialLink, type Link, type LinkContext } from '../../relay/onion/link.ts';
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

function ctx(key: Hostkey, ingress?: Ingress): LinkContext {
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
    partialCellTimeoutMs: 1000,
    ingress,
  };
}

function relayCell(seq: number): Uint8Array {
  const c = newCell(7, CellCmd.RELAY);
  new DataView(c.buffer).setUint32(PAYLOAD_OFFSET, seq);
  return c;
}
const seqOf = (c: Uint8Array) => new DataView(c.buffer, c.byteOffset).getUint32(PAYLOAD_OFFSET);

it('drops stale RELAY cells in a busy relay, keeps the rest, and credits both', async () => {
  const ingress = new Ingress({ maxAgeMs: 20 });
  const got: Uint8Array[] = [];
  let busy = true;
  const relay = new LinkManager({
    ...ctx(hk[0]!, ingress),
    maxLinks: 4,
    idleLinkMs: 60_000,
    circuitsOn: () => 1,
    onLink: (l: Link) => {
      l.onCell = (cell) => {
        got.push(cell);
        // The first cell keeps the relay busy for 60 ms while the rest of its write waits behind it.
        if (busy) for (const end = performance.now() + 60; performance.now() < end; );
        busy = false;
      };
    },
    onLinkClosed: () => {},
  });
  stop.push(() => relay.close());
  const port = await relay.listen('127.0.0.1', 0);
  const link = await dialLink(ctx(hk[1]!), '127.0.0.1', port, hk[0]!.identity);
  stop.push(() => link.close('test over'));

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
