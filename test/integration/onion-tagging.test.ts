// Issue 15 point 4: tagging is loud. A first hop that flips a bit in the cells of one circuit (to
// mark it for a colluder further on) makes the far end tear that circuit down and count it; the
// tunnel goes on over a new circuit at once, as after any lost circuit.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CellCmd, CMD_OFFSET, cellCircId } from '../../relay/onion/cell.ts';
import type { HopCircuit } from '../../relay/onion/hop.ts';
import { newStats } from '../../relay/onion/stats.ts';
import { statusLine } from '../../relay/onion/status.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

let on: OnionNet;
beforeAll(async () => {
  on = await startOnionNet(6, { 'onion.build_timeout_ms': '3000', 'onion.cover_tunnel': 'false' });
});
afterAll(async () => {
  await on?.stop();
});

it('a first hop flipping bits gets its circuit torn down by the far end; the tunnel continues', async () => {
  const a = await on.client(0);
  const d = await on.client(5);
  const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
  const ready = await a.request(on.buildTo(5), MessageType.ONION_TUNNEL_READY, 10_000);
  const inId = (await inc).tunnelId;
  const path = on.debug(0).tunnelPath(ready.tunnelId);
  const first = on.net.relays.findIndex((r) => r.p2p.onion === path[0]);
  // The tagger: it flips one body bit of every RELAY cell of this circuit it passes on to the second
  // hop (the circuit's next link and id, as the first hop's own circuit table knows them).
  const next = await new Promise<NonNullable<HopCircuit['next']>>((resolve) => {
    on.debug(first).observeHops((hop, forward) => {
      if (forward && hop.next) resolve(hop.next);
    });
    a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: new Uint8Array([0]) });
  });
  on.debug(first).observeHops(undefined);
  const link = next.link;
  let flipped = 0;
  const send = link.send.bind(link);
  link.send = (cell: Uint8Array) => {
    if (cell[CMD_OFFSET] === CellCmd.RELAY && cellCircId(cell) === next.circId) {
      cell[100]! ^= 0x10;
      flipped++;
    }
    return send(cell);
  };
  const got: number[] = [];
  d.onMessage((m) => {
    if (m.type === MessageType.ONION_TUNNEL_DATA && m.tunnelId === inId) got.push(m.data[0]!);
  });
  const dest = on.debug(5);
  for (let i = 0; i < 200 && dest.stats.taggedCircuits === 0; i++) {
    a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: new Uint8Array([1]) });
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(flipped).toBeGreaterThanOrEqual(3);
  expect(dest.stats.macFailures).toBeGreaterThanOrEqual(3);
  expect(dest.stats.taggedCircuits).toBe(1);
  expect(got.filter((x) => x === 1)).toEqual([]); // nothing tagged was delivered
  // A new circuit carries the tunnel on: same tunnel IDs, data both ways.
  await waitFor(() => on.debug(0).stats.circuitsBuilt >= 2, 10_000, 'a replacement circuit');
  const back = a.next(MessageType.ONION_TUNNEL_DATA);
  await waitFor(
    () => {
      a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: new Uint8Array([2]) });
      return got.includes(2);
    },
    10_000,
    'data on the next circuit',
  );
  d.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: inId, data: new Uint8Array([3]) });
  expect([...(await back).data]).toEqual([3]);
  link.send = send;
});

it('reports MAC failures and torn-down circuits in the status line', () => {
  const g = { linksOut: 1, linksIn: 1, ownTunnels: 1, endingHere: 0, hopCircuits: 2, cover: true };
  expect(statusLine(g, newStats(), 60)).not.toContain('MAC');
  expect(statusLine(g, { ...newStats(), macFailures: 3, taggedCircuits: 1 }, 60)).toContain(
    '3 cells failed their MAC at a circuit end, 1 circuits torn down for it',
  );
});
