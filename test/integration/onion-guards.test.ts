// Issue 15 point 3: entry guards and path bias. A relay keeps its first hop round after round while
// it is up, and moves to its next guard when it goes down; a hop that fails every EXTEND is dropped
// from selection (no re-draw of the position after it, which let it steer the path).
import { afterEach, expect, it } from 'vitest';
import { parseHostkey } from '../../relay/onion/keycache.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

let on: OnionNet | undefined;
afterEach(async () => {
  await on?.stop();
  on = undefined;
});

/** The first hop of tunnel `id` of relay 0 after each of the next `rounds` switch-overs. */
async function firstHops(id: number, rounds: number): Promise<string[]> {
  const d = on!.debug(0);
  const out: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const n = d.stats.switchovers;
    await waitFor(() => d.stats.switchovers > n, 10_000, `switch-over ${i}`);
    out.push(d.tunnelPath(id)[0]!);
  }
  return out;
}

it('keeps its guard for 25 rounds while it is up and moves to the next guard when it goes down', {
  timeout: 150_000,
}, async () => {
  on = await startOnionNet(7, {
    'onion.round_seconds': '1',
    'onion.build_timeout_ms': '1000',
    'onion.cover_tunnel': 'false',
    'onion.num_guards': '2',
    'onion.guard_retry_seconds': '3600',
  });
  const a = await on.client(0);
  const d = await on.client(6);
  const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
  const ready = await a.request(on.buildTo(6), MessageType.ONION_TUNNEL_READY, 10_000);
  await inc;
  const up = await firstHops(ready.tunnelId, 25);
  console.log(`first hops while the guard is up: ${new Set(up).size} distinct of ${up.length}`);
  expect(new Set(up).size).toBe(1);
  const guard = on.net.relays.findIndex((r) => r.p2p.onion === up[0]);
  expect(guard).toBeGreaterThan(0);
  await on.net.relays[guard]!.stop();
  const down = (await firstHops(ready.tunnelId, 25)).slice(1); // the first may still be the lost one's replacement
  console.log(`first hops after it went down: ${[...new Set(down)].join(', ')}`);
  expect(new Set(down).size).toBe(1);
  expect(down[0]).not.toBe(up[0]);
});

it('drops a hop that fails every EXTEND from selection', { timeout: 120_000 }, async () => {
  // Relay 1 refuses to extend to private addresses: on loopback every EXTEND through it fails.
  on = await startOnionNet(6, { 'onion.build_timeout_ms': '3000', 'onion.cover_tunnel': 'false' }, (i) =>
    i === 1 ? { 'onion.extend_private_addresses': 'false' } : ({} as Record<string, string>),
  );
  const bad = parseHostkey(on.der[1]!).idHex;
  const badAddr = on.net.relays[1]!.p2p.onion!;
  const a = await on.client(0);
  const build = async () => {
    const r = await a.request(on!.buildTo(5), MessageType.ONION_TUNNEL_READY, 10_000);
    const path = on!.debug(0).tunnelPath(r.tunnelId);
    a.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: r.tunnelId });
    return path;
  };
  for (let i = 0; i < 60 && !on.debug(0).avoided().includes(bad); i++) await build();
  expect(on.debug(0).avoided()).toEqual([bad]);
  expect(on.debug(0).guards()).not.toContain(bad);
  for (let i = 0; i < 20; i++) expect(await build()).not.toContain(badAddr);
});
