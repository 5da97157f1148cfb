// The API server with an input queue (as the onion module runs it): a busy module drops DATA that
// waited too long, never other messages, and handles what it keeps in the order it was sent.
import { connect } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { startApiServer } from '../../relay/api/server.ts';
import type { ApiHandler } from '../../relay/api/types.ts';
import { Ingress } from '../../relay/ingress.ts';
import { createLogger } from '../../relay/log.ts';
import { encodeMessage } from '../../shared/wire/index.ts';
import { type ApiMessage, MessageType } from '../../shared/wire/types.ts';
import { waitFor } from './onion-support.ts';

const stop: (() => unknown)[] = [];
afterAll(async () => {
  for (const s of stop) await s();
});

it('drops stale DATA in a busy module, keeps every other message, in order', async () => {
  const seen: string[] = [];
  const handler: ApiHandler = {
    accepts: new Set([MessageType.ONION_TUNNEL_DATA, MessageType.ONION_TUNNEL_DESTROY]),
    ingress: new Ingress({ maxAgeMs: 20 }),
    sheddable: new Set([MessageType.ONION_TUNNEL_DATA]),
    onMessage(_conn, msg) {
      if (msg.type === MessageType.ONION_TUNNEL_DATA) seen.push(`DATA ${msg.tunnelId}`);
      if (msg.type === MessageType.ONION_TUNNEL_DESTROY) seen.push(`DESTROY ${msg.tunnelId}`);
      // The first message keeps the module busy for 60 ms while the rest of its write waits.
      if (seen.length === 1) for (const end = performance.now() + 60; performance.now() < end; );
    },
  };
  const api = await startApiServer({
    module: 'test',
    address: { host: '127.0.0.1', port: 0 },
    handler,
    log: createLogger('t', 'silent'),
  });
  stop.push(() => api.close());
  const sock = connect(api.port, '127.0.0.1');
  stop.push(() => sock.destroy());
  await new Promise((r) => sock.once('connect', r));
  const data = (id: number): ApiMessage => ({ type: 564, tunnelId: id, data: new Uint8Array([id]) });
  const msgs = [data(1), data(2), data(3), { type: 563, tunnelId: 4 } as ApiMessage, data(5)];
  sock.write(Buffer.concat(msgs.map((m) => encodeMessage(m)))); // one write, one read
  await waitFor(() => seen.includes('DESTROY 4'), 5000, 'the DESTROY');
  expect(seen).toEqual(['DATA 1', 'DESTROY 4']);
  expect(handler.ingress!.dropped).toBe(3);
  // Without the wait, DATA goes through again.
  sock.write(encodeMessage(data(6)));
  await waitFor(() => seen.length === 3, 5000, 'DATA 6');
  expect(seen[2]).toBe('DATA 6');
});
