// The operators' status lines of Gossip and NSE, and the shared timer and counter helpers.
import { describe, expect, it } from 'vitest';
import { gossipStatusLine } from '../../relay/gossip/status.ts';
import { dhtStatusLine } from '../../relay/dht/status.ts';
import { nseStatusLine } from '../../relay/nse/status.ts';
import { rpsStatusLine } from '../../relay/rps/status.ts';
import { deltas, startStatusLog } from '../../relay/status.ts';
import { logCapture } from '../log-capture.ts';

describe('status lines', () => {
  it('deltas reports what changed since the last call, new keys included', () => {
    const c: Record<string, number> = { a: 1 };
    const since = deltas(() => c);
    c.a = 5;
    c.b = 2;
    expect(since()).toEqual({ a: 4, b: 2 });
    c.a = 6;
    expect(since()).toEqual({ a: 1, b: 0 });
  });

  it('NSE: estimate, Gossip link state, own claims and verdicts by reason', () => {
    const e = { estimate: 120, deviation: 14, rounds: 16 };
    const line = nseStatusLine(e, true, 4, { valid: 30, STALE_ROUND: 2, BAD_POW: 0 }, 60);
    expect(line).toBe(
      'estimate 120 peers (deviation 14, 16 rounds); gossip API connected; last 60 s: 4 own claims sent, 30 claims valid, refused 2 STALE_ROUND',
    );
    expect(nseStatusLine(e, false, 0, {}, 60)).toContain(
      'gossip API down; last 60 s: 0 own claims sent, 0 claims valid, none refused',
    );
  });

  it('Gossip: neighbours against degree, cache, and traffic since the last line', () => {
    const g = { neighbours: 7, degree: 8, known: 40, book: 55, validating: 1 };
    const line = gossipStatusLine(g, { announced: 2, received: 9, sent: 70, digests: 12 }, 59.6);
    expect(line).toBe(
      'neighbours 7 (degree 8; 55 addresses known); 40 items cached, 1 awaiting validation; last 60 s: 2 announced here, 9 new from peers, 70 pushes and 12 digests sent',
    );
  });

  it('RPS and DHT: what they hold', () => {
    const rps = { view: 11, viewSize: 12, samplers: 48, peers: 90, networkSize: 100, nse: true };
    expect(rpsStatusLine(rps)).toBe(
      'view 11 of 12, 48 samplers; 90 peers known; network size 100 (from NSE)',
    );
    expect(rpsStatusLine({ ...rps, nse: false })).toContain('(default_size)');
    expect(dhtStatusLine({ contacts: 40, values: 3, bytes: 900 })).toBe(
      '40 contacts in the routing table; 3 values stored (900 bytes)',
    );
  });

  it('logs a line per interval until stopped; 0 seconds logs nothing', async () => {
    const { log, lines, next } = logCapture();
    let n = 0;
    const stop = startStatusLog(log, 0.05, () => `line ${++n}`);
    expect(await next()).toBe('line 1');
    stop();
    startStatusLog(log, 0, () => 'never')();
    expect(lines).not.toContain('never');
  });
});
