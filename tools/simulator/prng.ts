/**
 * Small seeded pseudo-random helpers. The simulator's data must be the same for the same
 * seed on every machine (tests assert on it), so nothing here touches Math.random.
 */

// mulberry32 lives in src so the service's own property tests can share it; a relative
// path, because the simulator runs under plain ts-node (npm run simulator, the benches'
// child process) where the `src/*` alias does not resolve at run time
export { mulberry32 } from '../../src/common/random/mulberry32';

/** FNV-1a over a string, mixed with numbers: derives independent streams from one seed. */
export function hashSeed(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = String(part);
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x2f; // separator, so ('ab','c') and ('a','bc') differ
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export type Rng = () => number;

export const pick = <T>(rng: Rng, items: readonly T[]): T =>
  items[Math.floor(rng() * items.length)];

export const intBetween = (rng: Rng, min: number, max: number): number =>
  min + Math.floor(rng() * (max - min + 1));

export const round = (value: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
};

const HEX = '0123456789abcdef';

/** A version-4-shaped UUID drawn from the stream (deterministic, not random). */
export function seededUuid(rng: Rng): string {
  let out = '';
  for (let i = 0; i < 32; i++) {
    let nibble = Math.floor(rng() * 16);
    if (i === 12) nibble = 4;
    if (i === 16) nibble = 8 + (nibble & 3);
    out += HEX[nibble];
    if (i === 7 || i === 11 || i === 15 || i === 19) out += '-';
  }
  return out;
}
