// Timings the relay's Onion module and the browser client must share, so that neither end's
// behaviour tells a prober something the other end's would not (issue 14 point 3, issue 15).

/**
 * How long a tunnel that brings no verified offer lives at its destination. The client destroys
 * such an incoming tunnel after this long (CallManager's offer wait); a relay with no client
 * connected ends it after `[onion] unclaimed_tunnel_ms`, whose default this is. Equal, so when a
 * stranger's tunnel ends says nothing about whether a client is connected. It also bounds how
 * long the caller's offer may take to arrive (a slow path, a held signalling cell).
 */
export const UNCLAIMED_TUNNEL_MS = 30_000;
