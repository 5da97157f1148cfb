// Process-wide counters (summed over every gossip instance in this process): the benchmark reads
// them to report messages sent per relay per item.
export const gossipStats = {
  /** PUSH frames sent (pushed and pulled items). */
  itemsSent: 0,
  /** DIGEST frames sent. */
  digestsSent: 0,
  /** IHAVE and IWANT frames sent (lazy push). */
  ihaveSent: 0,
  iwantSent: 0,
  /** PUSHes dropped: over the neighbour's push_rate, or its share of the validation queue full. */
  pushesDropped: 0,
  validationDropped: 0,
  /** PEERS_REQUEST frames sent (peer exchange). */
  peersRequestsSent: 0,
  /** Links that became neighbours or were turned away after the handshake. */
  linksOpened: 0,
};
