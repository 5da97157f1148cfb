// What the test pages share: a seeded PRNG for the simulated network (runs repeat), and PCM as
// base64 16-bit samples for the tests to read back.

/** A seeded linear congruential generator in [0, 1): the same losses and delays every run. */
export function seededRandom(seed = 42): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

export function toBase64(pcm: Float32Array): string {
  const i16 = new Int16Array(pcm.length);
  for (let i = 0; i < pcm.length; i++)
    i16[i] = Math.max(-32768, Math.min(32767, Math.round(pcm[i]! * 32767)));
  const bytes = new Uint8Array(i16.buffer);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
