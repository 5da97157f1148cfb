// The Gossip module's status line (see relay/status.ts).

export interface GossipGauges {
  neighbours: number;
  degree: number;
  known: number;
  /** Addresses in the book. */
  book: number;
  validating: number;
}

/** `d`: this instance's counters since the last line. */
export function gossipStatusLine(
  g: GossipGauges,
  d: { announced: number; received: number; sent: number; digests: number },
  elapsedS: number,
): string {
  return (
    `neighbours ${g.neighbours} (degree ${g.degree}; ${g.book} addresses known); ` +
    `${g.known} items cached, ${g.validating} awaiting validation; last ${Math.round(elapsedS)} s: ` +
    `${d.announced} announced here, ${d.received} new from peers, ${d.sent} pushes and ${d.digests} digests sent`
  );
}
