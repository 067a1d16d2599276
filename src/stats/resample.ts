/** Seeded randomness and resampling: a seeded uniform generator, a seeded shuffle, the paired bootstrap. */

/** A seeded Fisher–Yates shuffle (a copy). */
export function shuffle<T>(xs: readonly T[], seed: number): T[] {
  let s = seed >>> 0 || 1;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Seeded uniform [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Paired bootstrap over prompts: the 95% interval of mean(a) and of mean(a) − mean(b), for
 * per-prompt values a and b of the same prompts.
 */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  options: { resamples?: number; seed?: number } = {},
): { mean: [number, number]; diff: [number, number] } {
  const n = a.length;
  const R = options.resamples ?? 1000;
  const rand = seededRandom(options.seed ?? 1);
  const means: number[] = [];
  const diffs: number[] = [];
  for (let r = 0; r < R; r++) {
    let sa = 0;
    let sb = 0;
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rand() * n);
      sa += a[j]!;
      sb += b[j]!;
    }
    means.push(sa / n);
    diffs.push((sa - sb) / n);
  }
  const q = (xs: number[], p: number) => xs.sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  return { mean: [q(means, 0.025), q(means, 0.975)], diff: [q(diffs, 0.025), q(diffs, 0.975)] };
}
