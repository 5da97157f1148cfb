// Issue 14 point 3: the destination relay must not be an online oracle. An OPEN is answered the
// same way whether or not an API client is connected there; with nobody to deliver to, the tunnel
// lives like any other and ends as a client ends a tunnel that brought no offer (END after a while).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ApiClient } from '../../relay/api/client.ts';
import { type ApiMessage, MessageType } from '../../shared/wire/types.ts';
import { type OnionNet, startOnionNet } from './onion-support.ts';

const UNCLAIMED_MS = 1500;
let on: OnionNet;
beforeAll(async () => {
  on = await startOnionNet(6, {
    'onion.build_timeout_ms': '3000',
    'onion.cover_tunnel': 'false',
    'onion.unclaimed_tunnel_ms': String(UNCLAIMED_MS),
  });
});
afterAll(async () => {
  await on?.stop();
});

/** What the initiator sees: BUILD to relay `dest`, DATA for a while, until the tunnel ends. */
async function initiatorView(a: ApiClient, dest: number): Promise<string[]> {
  const seen: string[] = [];
  const ended = new Promise<void>((resolve) => {
    const off = a.onMessage((m: ApiMessage) => {
      if (m.type === MessageType.ONION_TUNNEL_READY) seen.push('READY');
      else if (m.type === MessageType.ONION_ERROR) {
        seen.push(`ERROR ${m.requestType}`);
        off();
        resolve();
      } else if (m.type === MessageType.ONION_TUNNEL_DATA) seen.push('DATA');
    });
  });
  const ready = await a.request(on.buildTo(dest), MessageType.ONION_TUNNEL_READY, 10_000).catch(() => null);
  for (let i = 0; ready && i < 10; i++) {
    a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: new Uint8Array(115) });
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.race([ended, new Promise((r) => setTimeout(r, 4 * UNCLAIMED_MS + 5000))]);
  return seen;
}

it('answers OPEN the same with and without a connected client', async () => {
  // Relay 4: nobody connected. Relay 5: a client that, like the real one, drops a tunnel that brought
  // no offer after the same wait (and never answers junk).
  const d = await on.client(5);
  d.onMessage((m: ApiMessage) => {
    if (m.type !== MessageType.ONION_TUNNEL_INCOMING) return;
    setTimeout(() => d.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: m.tunnelId }), UNCLAIMED_MS);
  });
  const a1 = await on.client(0);
  const a2 = await on.client(1);
  const [noClient, withClient] = await Promise.all([initiatorView(a1, 4), initiatorView(a2, 5)]);
  expect(withClient).toEqual(['READY', 'ERROR 564']);
  expect(noClient).toEqual(withClient);
  expect(on.debug(4).inTunnels()).toBe(0); // the unclaimed tunnel is gone again
});
