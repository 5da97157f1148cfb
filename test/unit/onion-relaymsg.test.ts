// Relay message fragmentation and reassembly; link handshake cells.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BODY_OFFSET, CELL_SIZE, FRAG_DATA, HsType, WIRE_CELL_SIZE } from '../../relay/onion/cell.ts';
import { encodeHandshake, HandshakeReader } from '../../relay/onion/handshake.ts';
import { fragment, Reassembler, ReassemblyBudget, RelayProtocolError } from '../../relay/onion/relaymsg.ts';

describe('relay messages', () => {
  it('round-trip any size up to 64 KiB, in any fragment order', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.nat(),
        (data, cmd, seed) => {
          const cells = fragment(cmd, data, seed & 0xffff);
          expect(cells.every((c) => c.length === CELL_SIZE)).toBe(true);
          const order = cells
            .map((_, i) => i)
            .sort((a, b) => ((a * 7919 + seed) % 97) - ((b * 7919 + seed) % 97));
          const r = new Reassembler(65536);
          let out: { cmd: number; data: Uint8Array } | undefined;
          for (const i of order) out = r.push(cells[i]!) ?? out;
          expect(out?.cmd).toBe(cmd);
          expect(Buffer.from(out!.data)).toEqual(Buffer.from(data));
          expect(r.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
    const big = new Uint8Array(65527).map((_, i) => i);
    const r = new Reassembler(65536);
    const cells = fragment(1, big, 1);
    let out: Uint8Array | undefined;
    for (const c of cells) out = r.push(c)?.data ?? out;
    expect(Buffer.from(out!)).toEqual(Buffer.from(big));
  });

  it('drops a message with a lost fragment (never delivers it corrupted) and bounds partial state', () => {
    const r = new Reassembler(65536, 4, 5000);
    for (let id = 0; id < 10; id++) {
      const cells = fragment(1, new Uint8Array(FRAG_DATA * 3), id);
      r.push(cells[0]!);
      r.push(cells[2]!);
    }
    expect(r.bufferedBytes).toBeLessThanOrEqual(4 * 2 * (FRAG_DATA + 128)); // data + per-fragment cost
    const late = fragment(1, new Uint8Array(FRAG_DATA * 3), 0);
    expect(r.push(late[1]!)).toBeUndefined(); // its siblings were evicted
  });

  it('keeps the partial messages of all circuits within one budget, oldest dropped first', () => {
    const budget = new ReassemblyBudget(64 * 1024, 5000);
    const circuits = Array.from({ length: 200 }, () => new Reassembler(65536, 4, 5000, budget));
    // Every circuit starts four big messages and never finishes them.
    for (const r of circuits)
      for (let id = 0; id < 4; id++)
        for (const c of fragment(1, new Uint8Array(65000), id).slice(0, 50)) r.push(c, 0);
    expect(budget.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(circuits.reduce((s, r) => s + r.bufferedBytes, 0)).toBe(budget.bytes);
    expect(budget.evicted).toBeGreaterThan(700);
    // A whole message that fits still gets through on a fresh circuit.
    const fresh = new Reassembler(65536, 4, 5000, budget);
    const msg = new Uint8Array(20_000).map((_, i) => i);
    let out: Uint8Array | undefined;
    for (const c of fragment(1, msg, 9)) out = fresh.push(c, 1)?.data ?? out;
    expect(Buffer.from(out!)).toEqual(Buffer.from(msg));
  });

  it("drops a quiet circuit's stale partial when any circuit buffers a fragment, and frees on clear()", () => {
    const budget = new ReassemblyBudget(1 << 20, 5000);
    const quiet = new Reassembler(65536, 4, 5000, budget);
    const busy = new Reassembler(65536, 4, 5000, budget);
    quiet.push(fragment(1, new Uint8Array(1000), 1)[0]!, 0);
    expect(quiet.bufferedBytes).toBeGreaterThan(0);
    busy.push(fragment(1, new Uint8Array(1000), 1)[0]!, 6000);
    expect(quiet.bufferedBytes).toBe(0);
    busy.clear();
    expect(budget.bytes).toBe(0);
    expect(budget.partials.size).toBe(0);
  });

  it('rejects malformed fragment headers with a protocol error', () => {
    const r = new Reassembler(65536);
    const bad = (mut: (c: Uint8Array) => void) => {
      const c = fragment(1, new Uint8Array(10), 0)[0]!;
      mut(c);
      return () => r.push(c);
    };
    expect(bad((c) => (c[BODY_OFFSET] = 0))).toThrow(RelayProtocolError);
    expect(bad((c) => (c[BODY_OFFSET] = 200))).toThrow(RelayProtocolError);
    expect(bad((c) => (c[BODY_OFFSET + 6] = 0))).toThrow(RelayProtocolError); // count 0
    expect(bad((c) => (c[BODY_OFFSET + 7] = 250))).toThrow(RelayProtocolError); // length > room
    expect(
      bad((c) => {
        c[BODY_OFFSET + 5] = 0x7f; // 32k fragments: too large
        c[BODY_OFFSET + 6] = 0xff;
      }),
    ).toThrow(RelayProtocolError);
    expect(() => new Reassembler(500).push(fragment(1, new Uint8Array(1000), 0)[0]!)).toThrow(
      RelayProtocolError,
    );
  });
});

describe('handshake cells', () => {
  it('split a message into whole wire cells and read it back; reject bad magic and order', () => {
    const msg = new Uint8Array(1100).map((_, i) => i);
    const wire = encodeHandshake(HsType.ACCEPT, msg);
    expect(wire.length % WIRE_CELL_SIZE).toBe(0);
    const r = new HandshakeReader(HsType.ACCEPT);
    let out: Uint8Array | undefined;
    for (let at = 0; at < wire.length; at += WIRE_CELL_SIZE)
      out = r.push(wire.subarray(at, at + WIRE_CELL_SIZE));
    expect(Buffer.from(out!)).toEqual(Buffer.from(msg));
    const bad = wire.slice(0, WIRE_CELL_SIZE);
    bad[0] = 0;
    expect(() => new HandshakeReader(HsType.ACCEPT).push(bad)).toThrow(/magic/);
    expect(() => new HandshakeReader(HsType.HELLO).push(wire.subarray(0, WIRE_CELL_SIZE))).toThrow(/type/);
    expect(() =>
      new HandshakeReader(HsType.ACCEPT).push(wire.subarray(WIRE_CELL_SIZE, 2 * WIRE_CELL_SIZE)),
    ).toThrow(/order/);
  });
});
