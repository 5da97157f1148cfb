// The destination follows its initiator to a newer circuit, never back to an older one (inbound.ts
// `follow`). At a round boundary both ends move to the round's new circuit; a cell the initiator
// sent just before it arrives on the old circuit afterwards. Following it sent the destination's
// next cells on the old circuit, so a call's answer on the new circuit began up to 40 ms late, which
// a curious hop told from cover's (the cover clock begins within a slot of the boundary).
import { expect, it } from 'vitest';
import type { ApiConnection } from '../../relay/api/types.ts';
import { createLogger } from '../../relay/log.ts';
import { RelayCmd } from '../../relay/onion/cell.ts';
import type { HopCircuit } from '../../relay/onion/hop.ts';
import { Inbound } from '../../relay/onion/inbound.ts';
import { newStats } from '../../relay/onion/stats.ts';

/** A circuit ending here, as far as the destination uses it: what it sends back is recorded. */
function circuit(secret: number) {
  const back: number[] = [];
  const hop = {
    tunnel: undefined as unknown,
    layer: { resumeSecret: new Uint8Array(32).fill(secret) },
    sendBack: (cmd: number) => back.push(cmd),
    destroy: () => {},
  };
  return { hop: hop as unknown as HopCircuit, back };
}

it("sends on the round's new circuit after the boundary, even when a late cell comes on the old one", () => {
  const received: unknown[] = [];
  const conn = { closed: false, send: (m: unknown) => received.push(m) } as unknown as ApiConnection;
  let ids = 0;
  const inbound = new Inbound({
    log: createLogger('test', 'error'),
    stats: newStats(),
    maxIncoming: 8,
    orphanMs: 1000,
    unclaimedMs: 1000,
    connections: () => [conn],
    allocTunnelId: () => ++ids,
    releaseTunnelId: () => {},
  });
  const old = circuit(1);
  const next = circuit(2);
  inbound.onMessage(old.hop, { cmd: RelayCmd.OPEN, data: new Uint8Array([0]) });
  // The initiator's next round's circuit, built before the boundary, proves the tunnel's secret.
  inbound.onMessage(next.hop, { cmd: RelayCmd.RESUME, data: new Uint8Array(32).fill(1) });
  expect(next.back).toEqual([RelayCmd.OPENED]);
  inbound.onBoundary();
  // A DATA the initiator sent just before the boundary, arriving on the old circuit after it.
  inbound.onMessage(old.hop, { cmd: RelayCmd.DATA, data: new Uint8Array(10) });
  expect(received.length).toBe(2); // INCOMING, then the DATA: still delivered
  expect(inbound.send(conn, 1, new Uint8Array(10))).toBe(true);
  expect(next.back.at(-1)).toBe(RelayCmd.DATA); // old code: on the old circuit
  expect(old.back.filter((c) => c === RelayCmd.DATA)).toEqual([]);
  // A circuit newer still (a replacement after a loss) is followed at once.
  const third = circuit(3);
  inbound.onMessage(third.hop, { cmd: RelayCmd.RESUME, data: new Uint8Array(32).fill(2) });
  inbound.onMessage(third.hop, { cmd: RelayCmd.PADDING, data: new Uint8Array(0) });
  inbound.send(conn, 1, new Uint8Array(10));
  expect(third.back.at(-1)).toBe(RelayCmd.DATA);
  inbound.close();
});
