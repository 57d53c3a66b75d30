/**
 * mulberry32: a seeded pseudo-random source with 32-bit state, fast and good enough for test
 * data and property tests. The same seed gives the same sequence on every machine, which is
 * why it is used instead of Math.random wherever a run must be repeatable.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
