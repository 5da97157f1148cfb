// Hostile input at the circuit layer: random cells on a link never throw; unknown commands close that
// link; CREATE beyond the per-link limit is refused with DESTROY.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostkeyFromPem } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { CELL_SIZE, CellCmd, CMD_OFFSET, newCell, PAYLOAD_OFFSET } from '../../relay/onion/cell.ts';
import { x25519Generate } from '../../relay/onion/crypto.ts';
import type { Link } from '../../relay/onion/link.ts';
import type { LinkManager } from '../../relay/onion/links.ts';
import { OnionKeys } from '../../relay/onion/onionkey.ts';
import { Router } from '../../relay/onion/router.ts';
import { newStats } from '../../relay/onion/stats.ts';

const pem = generateKeyPairSync('rsa', {
  modulusLength: 1024,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
}).privateKey;
const hostkey = hostkeyFromPem(pem as string);
const keys = new OnionKeys(hostkey, 3_600_000);
keys.stop();

function fakeLink(): Link & { sent: Uint8Array[]; closeReason?: string } {
  const l = {
    id: 1,
    outbound: false,
    remote: 'test',
    peerIdentity: undefined,
    peerCert: undefined,
    closed: false,
    stats: { cellsIn: 0, cellsOut: 0, dropped: 0 },
    lastUsed: 0,
    sent: [] as Uint8Array[],
    closeReason: undefined as string | undefined,
    send(c: Uint8Array) {
      l.sent.push(c);
      return true;
    },
    close(reason: string) {
      l.closed = true;
      l.closeReason = reason;
    },
    onCell: () => {},
    onClose: () => {},
  };
  return l;
}

function router(maxCircuitsPerLink = 16, createsPerSecond = 1000): Router {
  const log = createLogger('t', 'silent');
  const stats = newStats();
  return new Router({
    identity: hostkey.identity,
    keys,
    log,
    stats,
    maxCircuitsPerLink,
    maxHopCircuits: 1000,
    createsPerSecond,
    hop: {
      links: () => ({}) as LinkManager,
      identity: hostkey.identity,
      log,
      stats,
      stepTimeoutMs: 100,
      maxMessage: 65536,
      endpoint: { onMessage: () => {}, onClosed: () => {} },
    },
  });
}

function create(circId: number): Uint8Array {
  const c = newCell(circId, CellCmd.CREATE);
  c.set(x25519Generate().pub, PAYLOAD_OFFSET);
  c.set(keys.current.pair.pub, PAYLOAD_OFFSET + 32);
  return c;
}

describe('router under hostile input', () => {
  it('random cells (on fresh and on established circuits) never throw', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: CELL_SIZE, maxLength: CELL_SIZE }), { maxLength: 30 }),
        (cells) => {
          const r = router();
          const link = fakeLink();
          r.onCell(link, create(7));
          for (const c of cells) {
            if (c[CMD_OFFSET]! % 2 === 0) c.set([0, 0, 0, 7], 0); // aim half of them at the live circuit
            if (!link.closed) r.onCell(link, c);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers CREATE with CREATED, and with DESTROY beyond the per-link circuit limit', () => {
    const r = router(2);
    const link = fakeLink();
    for (const id of [1, 2, 3]) r.onCell(link, create(id));
    expect(link.sent.map((c) => c[CMD_OFFSET])).toEqual([CellCmd.CREATED, CellCmd.CREATED, CellCmd.DESTROY]);
    expect(r.count(link)).toBe(2);
  });

  it('closes the link on an unknown command, circuit 0, or a CREATE for a used circuit id', () => {
    for (const cell of [newCell(5, 99), newCell(0, CellCmd.RELAY)]) {
      const link = fakeLink();
      router().onCell(link, cell);
      expect(link.closed).toBe(true);
    }
    const link = fakeLink();
    const r = router();
    r.onCell(link, create(9));
    r.onCell(link, create(9));
    expect(link.closeReason).toMatch(/CREATE/);
  });

  it('refuses CREATEs beyond the per-link rate (burst twice the rate) without doing the handshake', () => {
    const r = router(1000, 5);
    const link = fakeLink();
    for (let id = 1; id <= 12; id++) r.onCell(link, create(id));
    const cmds = link.sent.map((c) => c[CMD_OFFSET]);
    expect(cmds.filter((c) => c === CellCmd.CREATED).length).toBe(10);
    expect(cmds.filter((c) => c === CellCmd.DESTROY).length).toBe(2);
  });

  it('refuses a CREATE naming an onion key it does not hold', () => {
    const link = fakeLink();
    const c = create(4);
    c.set(randomBytes(32), PAYLOAD_OFFSET + 32);
    router().onCell(link, c);
    expect(link.sent[0]![CMD_OFFSET]).toBe(CellCmd.DESTROY);
  });
});
