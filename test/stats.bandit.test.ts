/**
 * Thompson sampling with a stopping rule, checked by simulation (seeded): the Beta sampler
 * against its moments; on Bernoulli arms the bandit sends far less traffic to the losing arms
 * than a uniform split, and the arm it promotes is wrong in at most δ of 1,000 runs.
 */
import { describe, expect, it } from 'vitest';

import { beta, gamma, identifiedBest, seededRandom, thompsonArm, type BanditArm } from '../src/stats/index.js';
import { SEED } from './helpers.js';

describe('samplers', () => {
  it('Gamma and Beta draws match their means and variances on random parameters', () => {
    const rnd = seededRandom(SEED);
    for (let t = 0; t < 8; t++) {
      const k = 0.3 + 6 * rnd();
      const a = 0.5 + 20 * rnd();
      const b = 0.5 + 20 * rnd();
      const n = 100_000;
      let gs = 0;
      let gq = 0;
      let bs = 0;
      let bq = 0;
      for (let i = 0; i < n; i++) {
        const g = gamma(k, rnd);
        gs += g;
        gq += g * g;
        const x = beta(a, b, rnd);
        bs += x;
        bq += x * x;
      }
      const gMean = gs / n;
      const bMean = bs / n;
      // Gamma(k, 1): mean k, variance k; Beta(a, b): mean a/(a+b), variance ab/((a+b)²(a+b+1)).
      // Means within 5 standard errors: 16 checks a run raise a false alarm ~1e-5 of runs (at 4
      // they did ~1e-3, and one did in CI: k 3.33, 4.1 standard errors; 20,000,000 draws of that
      // k: z 1.13), and a bias of 1% of the mean is still caught
      expect(Math.abs(gMean - k), `k ${k}`).toBeLessThan(5 * Math.sqrt(k / n));
      expect(gq / n - gMean * gMean).toBeCloseTo(k, 0);
      const bv = (a * b) / ((a + b) ** 2 * (a + b + 1));
      expect(Math.abs(bMean - a / (a + b)), `a ${a} b ${b}`).toBeLessThan(5 * Math.sqrt(bv / n));
      expect(Math.abs(bq / n - bMean * bMean - bv) / bv).toBeLessThan(0.05);
    }
  });
});

/** One run: allocate until the best arm is identified (checked every 100 units) or 8,000 units. */
function run(truth: readonly number[], allocate: 'bandit' | 'uniform', rnd: () => number) {
  const arms: BanditArm[] = truth.map(() => ({ successes: 0, failures: 0 }));
  const pulls = truth.map(() => 0);
  for (let n = 1; n <= 8000; n++) {
    const i = allocate === 'bandit' ? thompsonArm(arms, 0, 0.02, rnd) : n % truth.length;
    pulls[i]!++;
    if (rnd() < truth[i]!) arms[i]!.successes++;
    else arms[i]!.failures++;
    if (n % 100 === 0 && pulls.every((p) => p >= 30)) {
      const best = identifiedBest(arms, 0, 0.05, rnd, 500);
      if (best !== undefined) return { best, pulls, n };
    }
  }
  return { best: undefined, pulls, n: 8000 };
}

describe('Thompson sampling', () => {
  it('≥ 30% less traffic to the losing arms than a uniform split; wrong winners ≤ δ over 1,000 runs', () => {
    const rnd = seededRandom(SEED + 1);
    const truth = [0.5, 0.6, 0.7];
    let wrong = 0;
    let undecided = 0;
    let losersBandit = 0;
    let totalBandit = 0;
    for (let r = 0; r < 1000; r++) {
      const b = run(truth, 'bandit', rnd);
      if (b.best === undefined) undecided++;
      else if (b.best !== 2) wrong++;
      losersBandit += b.pulls[0]! + b.pulls[1]!;
      totalBandit += b.n;
    }
    let losersUniform = 0;
    let totalUniform = 0;
    let wrongUniform = 0;
    for (let r = 0; r < 300; r++) {
      const u = run(truth, 'uniform', rnd);
      if (u.best !== undefined && u.best !== 2) wrongUniform++;
      losersUniform += u.pulls[0]! + u.pulls[1]!;
      totalUniform += u.n;
    }
    const shareBandit = losersBandit / totalBandit;
    const shareUniform = losersUniform / totalUniform; // 2/3
    expect(wrong / 1000, `seed ${SEED}`).toBeLessThanOrEqual(0.05);
    expect(wrongUniform / 300, `seed ${SEED}`).toBeLessThanOrEqual(0.05);
    expect(undecided / 1000, `seed ${SEED}`).toBeLessThan(0.05);
    expect(shareBandit, `seed ${SEED}`).toBeLessThanOrEqual(0.7 * shareUniform);
  });

  it('the cost term moves traffic to a cheaper arm of equal quality', () => {
    const rnd = seededRandom(SEED + 2);
    const arms: BanditArm[] = [
      { successes: 300, failures: 100, cost: 0.02 },
      { successes: 300, failures: 100, cost: 0.002 },
    ];
    const counts = [0, 0];
    for (let i = 0; i < 2000; i++) counts[thompsonArm(arms, 2, 0, rnd)]!++; // λ = 2: 0.036 of quality
    expect(counts[1]! / 2000).toBeGreaterThan(0.8);
  });
});
