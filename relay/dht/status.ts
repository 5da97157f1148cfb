// The DHT module's status line (see relay/status.ts).

export interface DhtGauges {
  contacts: number;
  values: number;
  bytes: number;
}

export function dhtStatusLine(g: DhtGauges): string {
  return `${g.contacts} contacts in the routing table; ${g.values} values stored (${g.bytes} bytes)`;
}
