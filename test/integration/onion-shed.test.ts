// A relay short of CPU refuses to become a middle hop (new circuits torn down at their EXTEND), so new
// tunnels are built through other relays, while it keeps forwarding the cells of circuits it has and
// keeps accepting tunnels that end at it. Relay 1 is made short of CPU by real work in its input queue,
// as a flood of cells would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../relay/api/client.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

let on: OnionNet;
beforeAll(async () => {
  // A random first hop per circuit (num_guards 0): this is about shedding middle-hop circuits. With
  // guards, relay 1 as relay 0's guard refuses every build until path bias avoids it (10 EXTENDs,
  // each waiting out a step), which outlasted the test's 30 s READY wait in about half the runs.
  on = await startOnionNet(5, {
    'onion.cover_tunnel': 'false',
    'onion.build_timeout_ms': '20000',
    'onion.num_guards': '0',
  });
});
afterAll(async () => {
  await on?.stop();
});

/** Uses `ms` of CPU time. */
const burn = (ms: number) => {
  const start = process.cpuUsage();
  for (;;) {
    const u = process.cpuUsage(start);
    if (u.user + u.system >= ms * 1000) return;
  }
};

/**
 * Keeps relay i short of CPU until the returned function is called: work in its input queue, 10 ms of
 * CPU every 100 ms, against a share lowered from half a core to 2 % (this machine may give the test
 * process little CPU, and the other relays of this process must stay below their own 50 %).
 */
function keepShort(i: number): () => void {
  const ingress = on.debug(i).ingress;
  const before = ingress.shortCpu;
  ingress.shortCpu = 0.02;
  const load = () => ingress.push(load, () => burn(10), false);
  load();
  const timer = setInterval(load, 100);
  return () => {
    clearInterval(timer);
    ingress.shortCpu = before;
  };
}

async function echoOnce(a: ApiClient, d: ApiClient, out: number, back: number): Promise<void> {
  const there = d.next(MessageType.ONION_TUNNEL_DATA, { timeoutMs: 5000 });
  a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: out, data: new Uint8Array([1, 2, 3]) });
  await there;
  const home = a.next(MessageType.ONION_TUNNEL_DATA, { timeoutMs: 5000 });
  d.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: back, data: new Uint8Array([4, 5, 6]) });
  await home;
}

describe('a relay short of CPU', () => {
  it('refuses new middle-hop circuits, not cells of its circuits nor tunnels that end at it', {
    timeout: 60_000,
  }, async () => {
    const relay1 = on.net.relays[1]!.p2p.onion!;
    const a = await on.client(0);
    const d = await on.client(4);
    // A tunnel from 0 to 4 through relay 1 (hops are drawn from 1, 2, 3), built while it keeps up.
    let through1: { out: number; back: number } | undefined;
    for (let k = 0; k < 30 && !through1; k++) {
      const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
      const r = await a.request(on.buildTo(4), MessageType.ONION_TUNNEL_READY, 30_000);
      const back = (await inc).tunnelId;
      if (on.debug(0).tunnelPath(r.tunnelId).includes(relay1)) through1 = { out: r.tunnelId, back };
      else a.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: r.tunnelId });
    }
    expect(through1).toBeDefined();
    expect(on.debug(1).stats.circuitsRefused).toBe(0);

    const stop = keepShort(1);
    try {
      await waitFor(() => on.debug(1).ingress.shortOfCpu(), 10_000, 'relay 1 short of CPU');
      // New tunnels from 0 to 4 are all built, none through relay 1 (2 of 3 paths would be).
      for (let k = 0; k < 10; k++) {
        const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
        const r = await a.request(on.buildTo(4), MessageType.ONION_TUNNEL_READY, 30_000);
        await inc;
        expect(on.debug(0).tunnelPath(r.tunnelId)).not.toContain(relay1);
      }
      expect(on.debug(1).stats.circuitsRefused).toBeGreaterThan(0);
      // The tunnel it already carries goes on, both ways.
      await echoOnce(a, d, through1!.out, through1!.back);
      // Relay 1 as a destination is not refused.
      const d1 = await on.client(1);
      const inc1 = d1.next(MessageType.ONION_TUNNEL_INCOMING, { timeoutMs: 30_000 });
      const r1 = await a.request(on.buildTo(1), MessageType.ONION_TUNNEL_READY, 30_000);
      await echoOnce(a, d1, r1.tunnelId, (await inc1).tunnelId);
    } finally {
      stop();
    }
    // Once it keeps up again, it is a hop like any other.
    await waitFor(() => !on.debug(1).ingress.shortOfCpu(), 15_000, 'relay 1 keeping up');
    const refused = on.debug(1).stats.circuitsRefused;
    let used = false;
    for (let k = 0; k < 30 && !used; k++) {
      const r = await a.request(on.buildTo(4), MessageType.ONION_TUNNEL_READY, 30_000);
      used = on.debug(0).tunnelPath(r.tunnelId).includes(relay1);
    }
    expect(used).toBe(true);
    expect(on.debug(1).stats.circuitsRefused).toBe(refused);
  });
});
