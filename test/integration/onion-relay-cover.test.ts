// A relay covers for its absent client (relay/onion/service.ts relay_cover): while no API client
// sends COVER or holds a tunnel, the relay sends a page's cover itself, one call packet per 20 ms
// through the round's cover tunnel. Before, the cover circuit of a relay whose page was closed
// carried nothing, so an observer of its links saw whether its user was online (~0 cells/s of its
// own against ~50), and the circuit's destination answered it for 200 ms from each boundary only.
//
// Four relays; only relay 0 covers for its client (the others have none and do not cover, so the
// cells relay 0 writes are its own stream plus the link credits for the answers it reads). Each
// phase counts relay 0's writes for 2 s: the same ~50 cells/s with no client, with a client pacing
// its own COVER (not twice that), after the client fell silent, and while it holds a tunnel of its
// own and sends DATA through it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { linkTap } from '../../relay/onion/debug.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { paceLikeClient } from './onion-curious.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

let on: OnionNet;
beforeAll(async () => {
  on = await startOnionNet(4, {}, (i) => ({ 'onion.relay_cover': i === 0 ? 'true' : 'false' }));
  await waitFor(() => on.debug(0).coverReady(), 15_000, 'cover of relay 0');
});
afterAll(async () => {
  linkTap.fn = undefined;
  await on?.stop();
});

/** Cells per second relay 0 writes to its links over the next `ms`. */
async function outRate(ms = 2000): Promise<number> {
  const me = on.net.relays[0]!.identity;
  let cells = 0;
  linkTap.fn = (id, _link, dir, bytes) => {
    if (dir === 'out' && Buffer.from(id).toString('hex') === me) cells += bytes / 240;
  };
  await new Promise((r) => setTimeout(r, ms));
  linkTap.fn = undefined;
  return (cells * 1000) / ms;
}

const settle = () => new Promise((r) => setTimeout(r, 500));

it('sends one stream of cover whether its client is absent, pacing, silent, or calling', {
  timeout: 60_000,
}, async () => {
  await settle();
  const rates: Record<string, number> = {};
  rates.absent = await outRate();
  const c = await on.client(0);
  const stopCover = paceLikeClient(() => c.send({ type: MessageType.ONION_COVER, coverSize: 115 }));
  await settle();
  rates.pacing = await outRate();
  stopCover();
  await settle();
  rates.silent = await outRate();
  const { tunnelId } = await c.request(on.buildTo(2), MessageType.ONION_TUNNEL_READY, 10_000);
  const stopData = paceLikeClient(() =>
    c.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId, data: new Uint8Array(115) }),
  );
  await settle();
  rates.calling = await outRate();
  stopData();
  console.log(
    `relay 0 writes (cells/s): ${Object.entries(rates)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ')}`,
  );
  // One stream of 50 cells/s, plus a link credit per few dozen cells read (the answers).
  for (const [phase, rate] of Object.entries(rates)) {
    expect(rate, phase).toBeGreaterThan(40);
    expect(rate, phase).toBeLessThan(65);
  }
});
