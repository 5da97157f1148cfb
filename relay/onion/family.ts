// Relay families (issue 16) and subnets: a path never holds two relays one operator runs, nor two in
// one /16 (IPv4) or /32 (IPv6), as Tor's MyFamily and EnforceDistinctSubnets. RPS PEER carries no
// family, so what we know is configured here: `family` lists this relay's own family (declared by
// its operator: our own relays are never our hops, since the initiator is one end of every path),
// `families` other operators' families as published by them ("a,b | c,d").
import { isIP } from 'node:net';
import type { HopPeer } from './origin.ts';

export class Families {
  private readonly group = new Map<string, number>();

  /** `groups`: lists of hex identities; `own`: this relay's family (with `selfId`). */
  constructor(
    selfId: string,
    own: string[],
    groups: string[][],
    readonly distinctSubnets: boolean,
  ) {
    [[selfId, ...own], ...groups].forEach((g, i) => {
      for (const id of g) this.group.set(id.toLowerCase(), i);
    });
  }

  /** May `p` join a path (hops and destination) already holding `chosen`, started by us? */
  fits(p: HopPeer, chosen: HopPeer[]): boolean {
    const g = this.group.get(p.idHex);
    if (g === 0) return false; // our own family
    for (const c of chosen) {
      if (g !== undefined && this.group.get(c.idHex) === g) return false;
      if (this.distinctSubnets && sameSubnet(p.host, c.host)) return false;
    }
    return true;
  }
}

/** Same /16 (IPv4) or /32 (IPv6); names are not compared (they could be anywhere). */
export function sameSubnet(a: string, b: string): boolean {
  const va = isIP(a);
  if (va === 0 || va !== isIP(b)) return false;
  if (va === 4) return a.split('.').slice(0, 2).join('.') === b.split('.').slice(0, 2).join('.');
  return prefix32(a) === prefix32(b);
}

function prefix32(v6: string): string {
  const [head] = v6.toLowerCase().split('::');
  const parts = (head ?? '').split(':');
  return [parts[0] || '0', parts[1] || '0'].map((x) => Number.parseInt(x, 16)).join(':');
}

/** Parse "id, id" (one family) or "id, id | id, id" (several; INI takes ; for a comment); throws on anything but 64-hex ids. */
export function parseFamilies(v: string | undefined): string[][] {
  if (!v) return [];
  return v
    .split('|')
    .map((g) => g.split(/[\s,]+/).filter(Boolean))
    .filter((g) => g.length > 0)
    .map((g) =>
      g.map((id) => {
        const x = id.replace(/^\$/, '').toLowerCase();
        if (!/^[0-9a-f]{64}$/.test(x)) throw new Error(`"${id}" is not a relay identity (64 hex digits)`);
        return x;
      }),
    );
}
