import { describe, expect, it } from 'vitest';
import { hopWireStats, newStats } from '../../relay/onion/stats.ts';
import { startStatus, statusLine } from '../../relay/onion/status.ts';
import { logCapture } from '../log-capture.ts';

const gauges = { linksOut: 3, linksIn: 2, ownTunnels: 1, endingHere: 4, hopCircuits: 12, cover: true };

describe('onion status line', () => {
  it('reports what the module holds and what it did since the last line', () => {
    const since = { ...newStats(), cellsForwarded: 6000, circuitsBuilt: 2, buildFailures: 1, switchovers: 1 };
    const line = statusLine(gauges, since, 60);
    expect(line).toContain('links 5 (3 out, 2 in)');
    expect(line).toContain('tunnels 1 own, 4 ending here, cover up');
    expect(line).toContain('12 hop circuits');
    expect(line).toContain('last 60 s: 6000 cells forwarded (100/s)');
    expect(line).toContain('2 circuits built, 1 failed');
    expect(line).not.toContain('violations'); // only when there were some
    const bad = statusLine(gauges, { ...since, relayViolations: 2 }, 60);
    expect(bad).toContain('2 relay violations');
    expect(line).not.toContain('overloaded'); // only when it shed something
    expect(statusLine(gauges, { ...since, shed: 7 }, 60)).toContain(
      'overloaded: 7 stale cells and DATA dropped',
    );
    expect(line).not.toContain('short of CPU'); // only when it is or refused circuits
    expect(statusLine({ ...gauges, shortOfCpu: true }, { ...since, circuitsRefused: 3 }, 60)).toContain(
      'short of CPU now: 3 new middle-hop circuits refused',
    );
  });

  it("tells a tunnel end's clock waits from the middle hops' (hop_clock): they were summed", () => {
    const stats = newStats();
    const hop = hopWireStats(stats);
    hop.wireCellsSent += 100;
    hop.wireWaitMs += 800;
    hop.wireCellsDropped++;
    stats.wireCellsSent = 50;
    stats.wireWaitMs = 150;
    const line = statusLine(gauges, stats, 60);
    expect(line).toContain('tunnel-end clocks 50 cells, mean wait 3.0 ms');
    expect(line).toContain('hop clocks 100 cells, mean wait 8.0 ms, 1 dropped');
    expect(statusLine(gauges, newStats(), 60)).not.toContain('clocks'); // only when they ran
  });

  it('logs one line per interval from the live counters, and nothing once stopped', async () => {
    const { log, lines, next } = logCapture();
    const stats = newStats();
    const stop = startStatus(log, 0.05, stats, () => gauges);
    stats.cellsForwarded = 42;
    expect(await next()).toContain('42 cells forwarded');
    stats.cellsForwarded = 50;
    expect(await next()).toContain('8 cells forwarded');
    stop();
    const n = lines.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(lines.length).toBe(n);
  });
});
