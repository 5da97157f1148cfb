// A hop that dies mid-round: the initiator builds a replacement circuit at once and RESUMEs the
// tunnel on it; both API clients keep their tunnel IDs and data keeps flowing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MessageType } from '../../shared/wire/types.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

let on: OnionNet;
beforeAll(async () => {
  on = await startOnionNet(7, { 'onion.build_timeout_ms': '3000', 'onion.cover_tunnel': 'false' });
});
afterAll(async () => {
  await on?.stop();
});

it('replaces a failed hop without changing tunnel IDs', async () => {
  const a = await on.client(0);
  const d = await on.client(6);
  const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
  const ready = await a.request(on.buildTo(6), MessageType.ONION_TUNNEL_READY, 10_000);
  const inId = (await inc).tunnelId;
  const path = on.debug(0).tunnelPath(ready.tunnelId);
  expect(path.length).toBe(3);
  const victim = on.net.relays.findIndex((r) => r.p2p.onion === path[0]); // the first hop
  expect(victim).toBeGreaterThan(0);
  await on.net.relays[victim]!.stop();
  on.rps.peers.splice(victim, 1, on.rps.peers[(victim % 5) + 1]!); // RPS stops offering it
  await waitFor(
    () => {
      const p = on.debug(0).tunnelPath(ready.tunnelId);
      return p.length === 3 && p[0] !== path[0];
    },
    10_000,
    'a replacement circuit',
  );
  const got = d.next(MessageType.ONION_TUNNEL_DATA);
  a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: new Uint8Array([4, 2]) });
  const m = await got;
  expect(m.tunnelId).toBe(inId);
  expect([...m.data]).toEqual([4, 2]);
  const back = a.next(MessageType.ONION_TUNNEL_DATA);
  d.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: inId, data: new Uint8Array([7]) });
  expect((await back).tunnelId).toBe(ready.tunnelId);
});
