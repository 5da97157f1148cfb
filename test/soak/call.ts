// A call as the relays see it, without a browser: alice's API client builds a tunnel to bob's relay,
// bob's API client takes the INCOMING tunnel, and both send one 80-byte TUNNEL DATA every 20 ms on
// their own clocks (as the client's audio pacing does). Each frame carries a sequence number, so
// the soak can count what arrived, what was lost, and when a direction went quiet and came back.
import { ApiClient } from '../../relay/api/client.ts';
import { MessageType, type OnionTunnelBuild } from '../../shared/wire/types.ts';

const FRAME_MS = 20;
const FRAME_BYTES = 80;

/** One direction of the call. */
export interface Direction {
  sent: number;
  received: number;
  /** Date.now() of the last frame received. */
  lastAt: number;
  /** Silences (ms) longer than 200 ms, with when they ended. */
  gaps: { endedAt: number; ms: number }[];
}

export interface SoakCall {
  readonly aliceToBob: Direction;
  readonly bobToAlice: Direction;
  /** Tunnels alice had to build (1 + rebuilds after the relay gave the tunnel up). */
  builds: number;
  /** Why builds failed, most recent last (bounded). */
  errors: string[];
  stop(): void;
}

function direction(): Direction {
  return { sent: 0, received: 0, lastAt: Date.now(), gaps: [] };
}

function frame(seq: number): Uint8Array {
  const b = new Uint8Array(FRAME_BYTES);
  new DataView(b.buffer).setUint32(0, seq);
  return b;
}

function onFrame(d: Direction): void {
  const now = Date.now();
  if (now - d.lastAt > 200 && d.received > 0) {
    d.gaps.push({ endedAt: now, ms: now - d.lastAt });
    if (d.gaps.length > 1000) d.gaps.shift();
  }
  d.received++;
  d.lastAt = now;
}

/** Calls send() every 20 ms from a random phase, catching up on missed slots like an audio clock. */
function pacer(send: () => void): () => void {
  const begin = performance.now() + Math.random() * FRAME_MS;
  let next = 0;
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - begin) / FRAME_MS);
    // A stalled loop sends what is due, but no more than 5 frames at once (older audio is stale).
    if (due - next > 5) next = due - 5;
    for (; next <= due; next++) send();
  }, 5);
  return () => clearInterval(timer);
}

/** TUNNEL BUILD, answered by READY (the tunnel id) or ONION ERROR (thrown). */
async function open(client: ApiClient, to: OnionTunnelBuild): Promise<number> {
  const timeoutMs = 30_000;
  const error = client.next(MessageType.ONION_ERROR, {
    timeoutMs,
    filter: (e) => e.requestType === MessageType.ONION_TUNNEL_BUILD,
  });
  const ready = client.request(to, MessageType.ONION_TUNNEL_READY, timeoutMs);
  error.catch(() => {});
  ready.catch(() => {});
  return Promise.race([
    ready.then((r) => r.tunnelId),
    error.then(() => {
      throw new Error('the relay answered ONION ERROR');
    }),
  ]);
}

export async function startSoakCall(
  aliceApi: string,
  bobApi: string,
  to: OnionTunnelBuild,
): Promise<SoakCall> {
  const [alice, bob] = await Promise.all([
    ApiClient.connect(aliceApi, { timeoutMs: 10_000 }),
    ApiClient.connect(bobApi, { timeoutMs: 10_000 }),
  ]);
  let aliceTunnel: number | undefined;
  let bobTunnel: number | undefined;
  let stopped = false;
  const call: SoakCall = {
    aliceToBob: direction(),
    bobToAlice: direction(),
    builds: 0,
    errors: [],
    stop() {
      stopped = true;
      stopA();
      stopB();
      alice.close();
      bob.close();
    },
  };
  const note = (e: string) => {
    call.errors.push(`${new Date().toISOString()} ${e}`);
    if (call.errors.length > 50) call.errors.shift();
  };

  // Bob answers on the tunnel alice's frames come in on (an INCOMING alone may be someone else's).
  bob.onMessage((m) => {
    if (m.type !== MessageType.ONION_TUNNEL_DATA) return;
    bobTunnel = m.tunnelId;
    onFrame(call.aliceToBob);
  });
  alice.onMessage((m) => {
    if (m.type === MessageType.ONION_TUNNEL_DATA && m.tunnelId === aliceTunnel) onFrame(call.bobToAlice);
    else if (
      (m.type === MessageType.ONION_TUNNEL_DESTROY || m.type === MessageType.ONION_ERROR) &&
      m.tunnelId === aliceTunnel
    ) {
      note(`tunnel ${aliceTunnel} ended by the relay (message ${m.type})`);
      aliceTunnel = undefined;
      void build();
    }
  });

  let building = false;
  async function build(): Promise<void> {
    if (building || stopped) return;
    building = true;
    try {
      for (let attempt = 0; !stopped && aliceTunnel === undefined; attempt++) {
        call.builds++;
        try {
          aliceTunnel = await open(alice, to);
        } catch (e) {
          note(`build failed: ${(e as Error).message}`);
          if (alice.closed) return;
          await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
        }
      }
    } finally {
      building = false;
    }
  }

  const send = (client: ApiClient, tunnel: number | undefined, d: Direction) => {
    if (tunnel === undefined || client.closed) return;
    client.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: tunnel, data: frame(d.sent++) });
  };
  const stopA = pacer(() => send(alice, aliceTunnel, call.aliceToBob));
  const stopB = pacer(() => send(bob, bobTunnel, call.bobToAlice));
  await build();
  return call;
}
