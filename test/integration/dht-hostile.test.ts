// A hostile peer on a real link to a real relay: malformed DHT messages and oversize fragments
// close that link only; STOREs beyond the per-peer quota are refused; the relay keeps serving.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { dhtGet } from '../../relay/dht/client.ts';
import { DHT_PROTOCOL } from '../../relay/dht/peers.ts';
import { type DhtMessage, DhtType, decodeDht, encodeDht, StoreStatus } from '../../relay/dht/protocol.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { connectLink, type Link } from '../../relay/p2p/index.ts';
import { parseAddress } from '../../shared/address.ts';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';
import { getKeys } from '../keypool.ts';

const log = createLogger('hostile', 'silent');
let net: Testnet;

beforeAll(async () => {
  net = await startTestnet({
    relays: 2,
    only: ['dht'],
    set: { 'dht.pow_bits': '4', 'dht.quota': '2300', 'dht.get_timeout': '3000' },
    log: createLogger('testnet', 'error'),
  });
});
afterAll(async () => {
  await net?.stop();
});

async function dial(): Promise<Link> {
  const [, , , key] = (await getKeys(32)).slice(28);
  return connectLink({
    address: parseAddress(net.relays[0]!.p2p.dht!),
    hostkey: await loadHostkey(key!),
    protocol: DHT_PROTOCOL,
    powBits: 4,
    log,
  });
}

function ask(link: Link, msg: DhtMessage): Promise<DhtMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply')), 5000);
    const off = link.onMessage((type, body) => {
      const m = decodeDht(type, body);
      if (m.rid !== msg.rid) return;
      clearTimeout(timer);
      off();
      resolve(m);
    });
    link.send(msg.type, encodeDht(msg));
  });
}

const closed = (link: Link) => new Promise<string>((resolve) => link.onClose(resolve));

describe('DHT against a hostile peer', () => {
  it('answers FIND_NODE and PING over an authenticated link', async () => {
    const link = await dial();
    expect((await ask(link, { type: DhtType.PING, rid: 1 })).type).toBe(DhtType.PONG);
    const r = await ask(link, { type: DhtType.FIND_NODE, rid: 2, target: new Uint8Array(randomBytes(32)) });
    expect(r.type).toBe(DhtType.NODES);
    link.close('done');
  });

  it('refuses STOREs beyond the per-peer quota', async () => {
    const link = await dial();
    const store = (rid: number) =>
      ask(link, {
        type: DhtType.STORE,
        rid,
        ttl: 60,
        key: new Uint8Array(randomBytes(32)),
        value: new Uint8Array(900),
      });
    // quota 2300: each entry is charged key + value + 128 bytes overhead (1060)
    expect(await store(1)).toMatchObject({ status: StoreStatus.STORED });
    expect(await store(2)).toMatchObject({ status: StoreStatus.STORED });
    expect(await store(3)).toMatchObject({ status: StoreStatus.QUOTA });
    link.close('done');
  });

  it('a malformed message closes that link only', async () => {
    const link = await dial();
    const gone = closed(link);
    link.send(DhtType.FIND_NODE, new Uint8Array(7)); // truncated target
    expect(await gone).toMatch(/truncated/);
    const again = await dial();
    expect((await ask(again, { type: DhtType.PING, rid: 9 })).type).toBe(DhtType.PONG);
    again.close('done');
  });

  it('an oversize fragmented message closes the link; the relay keeps serving its API', async () => {
    const link = await dial();
    const gone = closed(link);
    for (let i = 0; i < 3; i++) link.send(DhtType.FRAGMENT, new Uint8Array(30_000));
    expect(await gone).toMatch(/too large/);
    const c = await ApiClient.connect(net.relays[0]!.api.dht!);
    const key = new Uint8Array(randomBytes(32));
    c.send({ type: 650, ttl: 60, replication: 0, key, value: Uint8Array.of(5) });
    expect(await dhtGet(c, key)).toEqual(Uint8Array.of(5));
    c.close();
  });
});
