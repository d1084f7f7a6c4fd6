/** A small seeded PRNG (32-bit state) for reproducible fuzz and property tests: returns [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0
    s ^= s >>> 13
    return (s >>> 0) / 2 ** 32
  }
}
