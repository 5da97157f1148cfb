// The in-call quality badge (issue 17): it must never read "Good" while a side hears nothing.
import { describe, expect, it } from 'vitest';
import { type CallStats, callQuality } from '../../client/src/lib/audio/stats.ts';

const good: CallStats = {
  durationMs: 10_000,
  rttMs: 40,
  latencyMs: 120,
  jitterMs: 2,
  lossPct: 0,
  bufferMs: 30,
  targetMs: 30,
  sent: 500,
  received: 500,
  lost: 0,
  late: 0,
  concealed: 0,
  underruns: 0,
  longestGapMs: 0,
  badPayloads: 0,
  muted: false,
  peerMuted: false,
  micOk: true,
  silentForMs: 20,
};

describe('callQuality', () => {
  it('reads Good for a clean two-way call', () => {
    expect(callQuality(good).word).toBe('Good');
  });

  it('never reads Good without a microphone (the friend hears silence)', () => {
    const q = callQuality({ ...good, micOk: false });
    expect(q.word).not.toBe('Good');
    expect(q.cls).toBe('poor');
    expect(q.why).toMatch(/friend hears silence/);
  });

  it('reads One-way when nothing has come from the peer for 2 s', () => {
    expect(callQuality({ ...good, silentForMs: 2500 }).word).toBe('One-way');
    // Not in the call's first moments, before the first frame can have arrived.
    expect(callQuality({ ...good, durationMs: 500, silentForMs: 500, latencyMs: undefined }).word).toBe(
      'Measuring…',
    );
  });

  it('grades loss and delay', () => {
    expect(callQuality({ ...good, lossPct: 5 }).word).toBe('Fair');
    expect(callQuality({ ...good, lossPct: 12 }).word).toBe('Poor');
    expect(callQuality({ ...good, latencyMs: 450 }).word).toBe('Poor');
  });
});
