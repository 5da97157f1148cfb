// The pairing of a loopback sender's 20 ms slots with the tunnel's frames (client/src/lib/audio/neteq-feed.ts).
import { describe, expect, it } from 'vitest';
import { NetEqFeed } from '../../client/src/lib/audio/neteq-feed.ts';

function feed(o: { maxHeld?: number; maxQueued?: number; now?: () => number } = {}) {
  const out: string[] = [];
  const f = new NetEqFeed<number>({
    emit: (slot, opus) => out.push(`${slot}:${opus[0]}`),
    drop: (slot) => out.push(`${slot}:-`),
    ...o,
  });
  return { f, out };
}
const frame = (n: number) => new Uint8Array([n]);

describe('NetEqFeed', () => {
  it('drops slots before the first frame, then pairs slot and frame in order', () => {
    const { f, out } = feed();
    f.slot(0);
    f.push(100, frame(1));
    f.slot(1);
    f.push(101, frame(2));
    f.slot(2);
    expect(out).toEqual(['0:-', '1:1', '2:2']);
  });

  it('holds a slot until its late frame comes: the lateness reaches NetEq as arrival jitter', () => {
    const { f, out } = feed();
    f.push(7, frame(1));
    f.slot(0);
    f.slot(1);
    f.slot(2);
    expect(out).toEqual(['0:1']);
    f.push(8, frame(2));
    f.push(9, frame(3));
    expect(out).toEqual(['0:1', '1:2', '2:3']);
    expect(f.stats).toMatchObject({ sent: 3, lost: 0 });
  });

  it('a frame missing while later ones arrived is lost: its slot is dropped (a timestamp gap for NetEq)', () => {
    const { f, out } = feed();
    f.push(0, frame(0));
    f.push(2, frame(2));
    f.push(3, frame(3));
    f.slot(0);
    f.slot(1);
    f.slot(2);
    f.slot(3);
    expect(out).toEqual(['0:0', '1:-', '2:2', '3:3']);
    expect(f.stats.lost).toBe(1);
    f.push(1, frame(1)); // after its slot was given up
    expect(f.stats.late).toBe(1);
  });

  it('tolerates one frame of reordering', () => {
    const { f, out } = feed();
    f.push(0, frame(0));
    f.slot(0);
    f.slot(1);
    f.push(2, frame(2));
    f.push(1, frame(1));
    f.slot(2);
    expect(out).toEqual(['0:0', '1:1', '2:2']);
  });

  it('a stalled tunnel gives up slots past maxHeld; its frames then count as late', () => {
    const { f, out } = feed({ maxHeld: 3 });
    f.push(0, frame(0));
    for (let s = 0; s < 6; s++) f.slot(s);
    expect(out).toEqual(['0:0', '1:-', '2:-']);
    expect(f.stats.lost).toBe(2);
    f.push(1, frame(1));
    f.push(2, frame(2));
    f.push(3, frame(3));
    expect(f.stats.late).toBe(2);
    expect(out.slice(3)).toEqual(['3:3']);
  });

  it('a tunnel running ahead of the sender keeps at most maxQueued frames waiting', () => {
    const { f, out } = feed({ maxQueued: 2 });
    for (let s = 0; s < 6; s++) f.push(s, frame(s));
    expect(f.stats.overflow).toBe(4);
    f.slot(0);
    f.slot(1);
    expect(out).toEqual(['0:4', '1:5']);
  });

  it('unwraps the 16-bit sequence number', () => {
    const { f, out } = feed();
    f.push(0xfffe, frame(1));
    f.push(0xffff, frame(2));
    f.push(0, frame(3));
    f.slot(0);
    f.slot(1);
    f.slot(2);
    expect(out).toEqual(['0:1', '1:2', '2:3']);
  });

  it("counts how long frames wait for a sender slot (delay NetEq's own figures miss)", () => {
    let t = 0;
    const { f } = feed({ now: () => t });
    f.push(1, frame(1));
    f.slot(0); // the first frame waited 0 ms
    for (let k = 2; k < 200; k++) {
      f.push(k, frame(k)); // each frame comes 12 ms before the sender's next slot
      t += 12;
      f.slot(k);
      t += 8;
    }
    expect(f.stats.waitMs).toBeCloseTo(12, 0);
    // A slot already waiting: the frame goes at once, and the average moves toward 0.
    for (let k = 200; k < 400; k++) {
      f.slot(k);
      f.push(k, frame(k));
      t += 20;
    }
    expect(f.stats.waitMs).toBeLessThan(0.5);
  });
});
