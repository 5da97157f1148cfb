import { describe, expect, it } from 'vitest';
import type { Logger } from '../../relay/log.ts';
import { newStats } from '../../relay/onion/stats.ts';
import { startStatus, statusLine } from '../../relay/onion/status.ts';

const gauges = { linksOut: 3, linksIn: 2, ownTunnels: 1, endingHere: 4, hopCircuits: 12, cover: true };

describe('onion status line', () => {
  it('reports what the module holds and what it did since the last line', () => {
    const before = newStats();
    before.cellsForwarded = 1000;
    before.circuitsBuilt = 5;
    const now = { ...before, cellsForwarded: 7000, circuitsBuilt: 7, buildFailures: 1, switchovers: 1 };
    const line = statusLine(gauges, before, now, 60);
    expect(line).toContain('links 5 (3 out, 2 in)');
    expect(line).toContain('tunnels 1 own, 4 ending here, cover up');
    expect(line).toContain('12 hop circuits');
    expect(line).toContain('last 60 s: 6000 cells forwarded (100/s)');
    expect(line).toContain('2 circuits built, 1 failed');
    expect(line).not.toContain('violations'); // only when there were some
    const bad = statusLine(gauges, before, { ...now, relayViolations: 2 }, 60);
    expect(bad).toContain('2 relay violations');
  });

  it('logs one line per interval from the live counters, and nothing once stopped', async () => {
    const lines: string[] = [];
    let seen: () => void = () => {};
    const info = (m: string) => {
      lines.push(m);
      seen();
    };
    const log = { info } as unknown as Logger;
    const stats = newStats();
    const stop = startStatus(log, 0.05, stats, () => gauges);
    stats.cellsForwarded = 42;
    await new Promise<void>((resolve, reject) => {
      seen = resolve;
      setTimeout(() => reject(new Error('no status line within 2 s')), 2000);
    });
    stop();
    expect(lines[0]).toContain('42 cells forwarded');
    const n = lines.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(lines.length).toBe(n);
    expect(startStatus(log, 0, stats, () => gauges)).toBeTypeOf('function'); // 0: off
  });
});
