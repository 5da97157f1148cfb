// Which addresses are not on the public Internet, for modules that dial addresses peers tell them
// (onion EXTEND, gossip peer exchange, DHT NODES replies): a relay on a public address must not be
// made to connect into its own machine or network, and learn from the timing which ports answer.
import { BlockList, isIP } from 'node:net';

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 3], // multicast and reserved, up to 255.255.255.255
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127], // :: and ::1
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/** Loopback, private, link-local, multicast and unspecified addresses (IPv4-mapped IPv6 included). Names: false. */
export function isPrivateAddress(host: string): boolean {
  const v = isIP(host);
  if (v === 4) return PRIVATE.check(host, 'ipv4');
  if (v !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped ? PRIVATE.check(mapped[1]!, 'ipv4') : PRIVATE.check(host, 'ipv6');
}

/**
 * Whether a relay listening on `host` should dial private addresses peers tell it about: yes on a
 * loopback or private address (testnet, LAN); no on a public one or the wildcard (0.0.0.0, ::), which
 * says nothing about where the relay is reachable and is the documented production setting.
 */
export function listensPrivately(host: string): boolean {
  if (host === 'localhost') return true;
  if (host === '0.0.0.0' || host === '::') return false;
  return isPrivateAddress(host);
}
