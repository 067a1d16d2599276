/**
 * The comparison statistics, checked by simulation (seeded; no timing): peeking at an A/A test
 * after every 50 units keeps the sequential test's false-positive rate at α while the naive
 * repeated z-test's climbs far above it; power and sample size against the fixed-horizon design;
 * the sample-ratio check catches a 2% assignment bias; and the fixed-horizon tests and Holm's
 * adjustment against plain references.
 */
import { describe, expect, it } from 'vitest';

import {
  Arm,
  fixedHorizonSize,
  holm,
  sampleRatioMismatch,
  seededRandom,
  SequentialTest,
  twoProportionZ,
  welchT,
} from '../src/stats/index.js';
import { SEED } from './helpers.js';

/** Runs a two-arm Bernoulli experiment, looking every `every` units per arm; returns the first unit count at which each test decided. */
function experiment(
  rnd: () => number,
  pA: number,
  pB: number,
  maxPerArm: number,
  every: number,
  tau: number,
): { sequential: number | undefined; naive: number | undefined } {
  const a = new Arm();
  const b = new Arm();
  const seq = new SequentialTest(tau, 0.05);
  let sequential: number | undefined;
  let naive: number | undefined;
  for (let n = 1; n <= maxPerArm; n++) {
    a.add(rnd() < pA ? 1 : 0);
    b.add(rnd() < pB ? 1 : 0);
    if (n % every) continue;
    if (sequential === undefined && seq.look(a, b).decided) sequential = n;
    if (naive === undefined && twoProportionZ(a, b).p < 0.05) naive = n;
    if (sequential !== undefined && naive !== undefined) break;
  }
  return { sequential, naive };
}

describe('sequential test (mSPRT)', () => {
  it('A/A peeked every 50 units: false positives ≤ 5% (the naive repeated z-test: ≥ 25%) — 10,000 simulations', () => {
    const rnd = seededRandom(SEED);
    let seqFp = 0;
    let naiveFp = 0;
    const runs = 10_000;
    for (let r = 0; r < runs; r++) {
      const { sequential, naive } = experiment(rnd, 0.7, 0.7, 2000, 50, 0.05);
      if (sequential !== undefined) seqFp++;
      if (naive !== undefined) naiveFp++;
    }
    expect(seqFp / runs, `seed ${SEED}`).toBeLessThanOrEqual(0.05);
    expect(naiveFp / runs, `seed ${SEED}`).toBeGreaterThanOrEqual(0.25);
  });

  it('power for 0.70 → 0.75 against the fixed-horizon size (reported; the goal is 80% within 1.3×)', () => {
    const rnd = seededRandom(SEED + 1);
    const nFixed = fixedHorizonSize(0.7, 0.75);
    expect(nFixed).toBeGreaterThan(1200); // (z.975 + z.8)² (p₁q₁ + p₂q₂) / δ² ≈ 1,248 per arm
    expect(nFixed).toBeLessThan(1300);
    const runs = 2000;
    let within13 = 0;
    let within2 = 0;
    for (let r = 0; r < runs; r++) {
      const { sequential } = experiment(rnd, 0.7, 0.75, 2 * nFixed, 50, 0.05);
      if (sequential !== undefined && sequential <= 1.3 * nFixed) within13++;
      if (sequential !== undefined) within2++;
    }
    // the always-valid test pays for peeking with samples: about 60% power at 1.3× and 80% by 2×
    expect(within13 / runs, `seed ${SEED}`).toBeGreaterThan(0.5);
    expect(within2 / runs, `seed ${SEED}`).toBeGreaterThan(0.75);
  });

  it('the confidence sequence covers the true difference at every look in ≥ 95% of runs', () => {
    const rnd = seededRandom(SEED + 2);
    let misses = 0;
    const runs = 2000;
    for (let r = 0; r < runs; r++) {
      const a = new Arm();
      const b = new Arm();
      const t = new SequentialTest(0.05);
      for (let n = 1; n <= 1000; n++) {
        a.add(rnd() < 0.6 ? 1 : 0);
        b.add(rnd() < 0.65 ? 1 : 0);
        if (n % 25 === 0) {
          const e = t.look(a, b);
          if (!(e.low <= 0.05 && 0.05 <= e.high)) {
            misses++;
            break;
          }
        }
      }
    }
    expect(misses / runs, `seed ${SEED}`).toBeLessThanOrEqual(0.05);
  });
});

describe('sample-ratio mismatch', () => {
  it('flags a 2% assignment bias at 20,000 units in ≥ 95% of runs, and a fair split in ≤ 0.5%', () => {
    const rnd = seededRandom(SEED + 3);
    let flagged = 0;
    let falseAlarms = 0;
    const runs = 1000;
    for (let r = 0; r < runs; r++) {
      const biased = [0, 0];
      const fair = [0, 0];
      for (let i = 0; i < 20_000; i++) {
        biased[rnd() < 0.52 ? 0 : 1]!++; // 52 / 48 where the weights say 50 / 50
        fair[rnd() < 0.5 ? 0 : 1]!++;
      }
      if (sampleRatioMismatch(biased, [1, 1]).mismatch) flagged++;
      if (sampleRatioMismatch(fair, [1, 1]).mismatch) falseAlarms++;
    }
    expect(flagged / runs, `seed ${SEED}`).toBeGreaterThanOrEqual(0.95);
    // a fair split raises the alarm at its level (0.1%): 1 of the 1,000 runs expected, at most 4
    // binomial standard deviations more (5)
    const level = 0.001;
    const allowed = Math.ceil(runs * level + 4 * Math.sqrt(runs * level));
    expect(falseAlarms, `seed ${SEED}`).toBeLessThanOrEqual(allowed);
  });

  it('matches the χ² reference for three arms with unequal weights', () => {
    const { chi2, p } = sampleRatioMismatch([500, 300, 200], [5, 3, 2]);
    expect(chi2).toBe(0);
    expect(p).toBeCloseTo(1, 12);
    // 2 degrees of freedom: P(χ² > x) = exp(−x/2)
    const r = sampleRatioMismatch([520, 290, 190], [5, 3, 2]);
    expect(r.p).toBeCloseTo(Math.exp(-r.chi2 / 2), 10);
  });
});

describe('fixed-horizon tests and Holm', () => {
  it('z and Welch against plain references on random inputs', () => {
    const rnd = seededRandom(SEED + 4);
    for (let i = 0; i < 50; i++) {
      const a = new Arm();
      const b = new Arm();
      const na = 20 + Math.floor(rnd() * 200);
      const nb = 20 + Math.floor(rnd() * 200);
      const xs: number[] = [];
      const ys: number[] = [];
      for (let j = 0; j < na; j++) xs.push(1 + 2 * rnd());
      for (let j = 0; j < nb; j++) ys.push(1.2 + 3 * rnd());
      xs.forEach((x) => a.add(x));
      ys.forEach((y) => b.add(y));
      const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
      const sv = (v: number[]) => v.reduce((s, x) => s + (x - mean(v)) ** 2, 0) / (v.length - 1);
      expect(a.mean).toBeCloseTo(mean(xs), 10);
      expect(a.variance).toBeCloseTo(sv(xs), 10);
      const w = welchT(a, b);
      const se = Math.sqrt(sv(xs) / na + sv(ys) / nb);
      expect(w.difference).toBeCloseTo(mean(ys) - mean(xs), 10);
      expect(w.high - w.low).toBeGreaterThan(2 * 1.96 * se); // a t quantile is above the normal's
      expect(w.high - w.low).toBeLessThan(2 * 2.1 * se); // … and close to it at these sizes (df ≥ 19)
      expect(w.p).toBeGreaterThanOrEqual(0);
      expect(w.p).toBeLessThanOrEqual(1);
    }
    const z = twoProportionZ({ n: 1000, mean: 0.7, variance: 0 }, { n: 1000, mean: 0.75, variance: 0 });
    const se = Math.sqrt((0.7 * 0.3) / 1000 + (0.75 * 0.25) / 1000);
    expect(z.p).toBeCloseTo(2 * (1 - 0.9938212), 3); // z = 0.05 / se ≈ 2.50; Φ(2.50) = 0.99379
    expect(z.high - z.low).toBeCloseTo(2 * 1.959964 * se, 8);
  });

  it("Holm's adjusted p-values are the step-down maxima", () => {
    expect(holm([0.01, 0.04, 0.03, 0.005])).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(holm([0.5, 0.9])).toEqual([1, 1]); // 2 × 0.5 = 1, and no adjusted p falls below an earlier one
  });
});
