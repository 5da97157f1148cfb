// Which addresses a relay on a public address refuses to dial when peers name them: its own machine
// and private networks (onion EXTEND, gossip PEERS, DHT NODES).
import { describe, expect, it } from 'vitest';
import { isPrivateAddress, listensPrivately } from '../../relay/private-address.ts';

describe('isPrivateAddress', () => {
  it('knows loopback, private, link-local, shared, multicast and unspecified addresses', () => {
    for (const h of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.1.1',
      '100.64.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
    ])
      expect(isPrivateAddress(h), h).toBe(true);
  });

  it('lets public addresses and names through', () => {
    for (const h of [
      '8.8.8.8',
      '172.32.0.1',
      '100.128.0.1',
      '2001:db8::1',
      '2a00:1450::1',
      '::ffff:8.8.8.8',
      'relay.example.org',
    ])
      expect(isPrivateAddress(h), h).toBe(false);
  });

  it('tells which listening addresses dial private ones', () => {
    for (const h of ['127.0.0.1', 'localhost', '10.0.0.5', '::1']) expect(listensPrivately(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '203.0.113.7', '2001:db8::1'])
      expect(listensPrivately(h), h).toBe(false);
  });
});
