// Hop circuits that carry nothing for idle_circuit_ms are closed (before, nothing timed them out, so
// circuits nobody used could fill max_hop_circuits); busy ones are not.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MessageType } from '../../shared/wire/types.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

let on: OnionNet;
beforeAll(async () => {
  on = await startOnionNet(5, {
    'onion.build_timeout_ms': '3000',
    'onion.cover_tunnel': 'false',
    'onion.idle_circuit_ms': '1000',
  });
});
afterAll(async () => {
  await on?.stop();
});

const idleClosed = () => on.net.relays.reduce((n, _, i) => n + on.debug(i).stats.idleCircuitsClosed, 0);

it('keeps circuits that carry cells, closes the ones that carry nothing', async () => {
  const a = await on.client(0);
  const d = await on.client(4);
  const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
  const ready = await a.request(on.buildTo(4), MessageType.ONION_TUNNEL_READY, 10_000);
  await inc;
  // Busy: a cell every 200 ms for 3 s (three idle periods): nothing is closed.
  for (let i = 0; i < 15; i++) {
    a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: new Uint8Array([i]) });
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(idleClosed()).toBe(0);
  // Silent: the hops (and the destination) close the circuit.
  // (The first sweep to find it closes it both ways, so the other hops may never count it.)
  await waitFor(() => idleClosed() > 0, 10_000, 'the idle circuit to close');
});
