// Two pages' voice payloads, forwarded to each other by Node over WebSockets (optionally lossy and
// jittery): a call without relays, for the device e2e test and the call benchmark.
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * Forwards each page's payloads to the other page (A is the first to connect), with optional loss
 * and jitter: a call without relays, so the product's audio path between two browsers can be
 * heard on the devices where the onion testnet is too slow to come up.
 */
export async function forwarder(net: { loss: number; baseMs: number; jitterMs: number }) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const peers: WebSocket[] = [];
  wss.on('connection', (ws) => {
    const me = peers.length;
    peers.push(ws);
    ws.on('message', (data: Buffer) => {
      if (Math.random() < net.loss) return;
      const to = peers[1 - me];
      setTimeout(() => to?.send(data), net.baseMs + Math.random() * net.jitterMs);
    });
  });
  const port = (wss.address() as { port: number }).port;
  return { url: `ws://127.0.0.1:${port}`, close: () => wss.close() };
}
