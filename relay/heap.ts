// The relay keeps V8's young generation at the size it starts with, so its memory does not step up
// minutes into a run. By default V8 doubles the young generation (up to 2 x 16 MB semi-spaces) when
// many objects survive a scavenge; in the hour-long soak one relay's heap grew 22 -> 52 MB that way
// at minute 11-14 and stayed there, RSS +47 %, with nothing leaking. A relay's live data is small and
// its cells live for milliseconds, so a small young generation costs nothing measurable: relay CPU per
// echoed frame at 100 tunnels read 349 us with growth, 354 with 1 MB semi-spaces (docs/soak.md).
// An operator who wants a bigger one sets it at start: NODE_OPTIONS=--min-semi-space-size=N (MB).
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** Stop V8 growing the young generation past its starting size. */
export function fixYoungGeneration(): void {
  // A growth factor of 1 is read each time V8 would grow new space; every Node from 20 accepts it
  // at run time (the flag is not frozen after start).
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** Bytes V8 has reserved for the young generation now (both semi-spaces). */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}
