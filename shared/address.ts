// Addresses as the config and the wire use them: "host:port", "a.b.c.d:port", "[v6]:port",
// and IP text <-> bytes for the IPv4/IPv6 fields of RPS PEER and ONION TUNNEL BUILD.

export interface HostPort {
  host: string;
  port: number;
}

export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new AddressError(`bad port "${text}"`);
  const port = Number(text);
  if (port > 65535) throw new AddressError(`port ${port} > 65535`);
  return port;
}

export function parseAddress(text: string): HostPort {
  const s = text.trim();
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':') throw new AddressError('expected [v6]:port');
    const host = s.slice(1, end);
    ipv6ToBytes(host); // validates
    return { host, port: parsePort(s.slice(end + 2)) };
  }
  const colon = s.lastIndexOf(':');
  if (colon <= 0) throw new AddressError('expected host:port');
  const host = s.slice(0, colon);
  if (host.includes(':')) throw new AddressError('IPv6 addresses need brackets: [v6]:port');
  if (/^[\d.]+$/.test(host)) ipv4ToBytes(host);
  else if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(host))
    throw new AddressError(`bad host name "${host}"`);
  return { host, port: parsePort(s.slice(colon + 1)) };
}

export function formatAddress(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

export function ipv4ToBytes(ip: string): Uint8Array {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new AddressError(`bad IPv4 address "${ip}"`);
  const out = new Uint8Array(4);
  parts.forEach((p, i) => {
    // No leading zeros: "010" is octal to some parsers (inet_aton), so it is ambiguous.
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) throw new AddressError(`bad IPv4 address "${ip}"`);
    out[i] = Number(p);
  });
  return out;
}

export function ipv6ToBytes(ip: string): Uint8Array {
  let text = ip;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // Embedded IPv4, e.g. ::ffff:1.2.3.4
    const v4 = ipv4ToBytes(text.slice(lastColon + 1));
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    text = `${text.slice(0, lastColon + 1)}0`; // placeholder group, removed below
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new AddressError(`bad IPv6 address "${ip}"`);
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const parse = (g: string) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new AddressError(`bad IPv6 address "${ip}"`);
    return Number.parseInt(g, 16);
  };
  let words = [...head.map(parse), ...rest.map(parse)];
  if (tail.length) words = [...words.slice(0, -1), ...tail];
  const missing = 8 - words.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw new AddressError(`bad IPv6 address "${ip}"`);
  if (halves.length === 2) {
    const headLen = head.length;
    words = [...words.slice(0, headLen), ...new Array(missing).fill(0), ...words.slice(headLen)];
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** IP text to its 4 or 16 wire bytes. */
export function ipToBytes(ip: string): Uint8Array {
  return isIPv6(ip) ? ipv6ToBytes(ip) : ipv4ToBytes(ip);
}

/** 4 or 16 wire bytes to IP text (RFC 5952: lower case, longest zero run compressed). */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) throw new AddressError(`IP address must be 4 or 16 bytes, got ${b.length}`);
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
