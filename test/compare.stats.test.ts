/**
 * The comparison statistics against plain references and by simulation (seeded; nothing timed):
 * Wilson intervals, the exact McNemar test, Wilcoxon's signed-rank test (its false-positive rate
 * under the null), Bradley–Terry strengths recovered from simulated matches; and the recorded-data
 * comparison on generated records — its ranking is the records' accuracy ranking and its
 * significant pairs are those of a reference computation written out here.
 */
import { describe, expect, it } from 'vitest';

import { analyzeComparison, replayRecords } from '../src/compare/index.js';
import { bradleyTerry, holm, mcnemarExact, seededRandom, wilcoxonSignedRank, wilson } from '../src/stats/index.js';
import { SEED } from './helpers.js';

/** C(n, k)/2^n summed, the plain way. */
function binomTailHalf(k: number, n: number): number {
  let s = 0;
  let c = 1;
  for (let i = 0; i <= k; i++) {
    s += c;
    c = (c * (n - i)) / (i + 1);
  }
  return s / 2 ** n;
}

describe('paired statistics', () => {
  it('Wilson intervals match the closed form on random counts', () => {
    const rnd = seededRandom(SEED);
    for (let t = 0; t < 200; t++) {
      const n = 1 + Math.floor(rnd() * 500);
      const k = Math.floor(rnd() * (n + 1));
      const z = 1.959963984540054;
      const p = k / n;
      const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
      const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
      const w = wilson(k, n);
      expect(w.low, `seed ${SEED}`).toBeCloseTo(Math.max(0, centre - half), 9);
      expect(w.high, `seed ${SEED}`).toBeCloseTo(Math.min(1, centre + half), 9);
    }
  });

  it('the exact McNemar test is twice the binomial tail of the discordant pairs', () => {
    const rnd = seededRandom(SEED + 1);
    for (let t = 0; t < 200; t++) {
      const b = Math.floor(rnd() * 40);
      const c = Math.floor(rnd() * 40);
      const ref = b + c === 0 ? 1 : Math.min(1, 2 * binomTailHalf(Math.min(b, c), b + c));
      expect(mcnemarExact(b, c), `seed ${SEED}`).toBeCloseTo(ref, 9);
    }
  });

  // its rate here is about 4.8% (two seeds of 50,000 samples: 4.77%, 4.90%); 10,000 samples put 6% 5 standard errors away
  it("Wilcoxon's test keeps its false-positive rate under the null (≤ 6% at α = 5%, 10,000 samples of 40 graded pairs)", () => {
    const rnd = seededRandom(SEED + 2);
    let fp = 0;
    for (let t = 0; t < 10_000; t++) {
      const diffs = Array.from({ length: 40 }, () => Math.round((rnd() - rnd()) * 4) / 4); // ties and zeros, symmetric
      if (wilcoxonSignedRank(diffs).p <= 0.05) fp++;
    }
    expect(fp / 10_000, `seed ${SEED}`).toBeLessThanOrEqual(0.06);
    // and it finds a real shift (mean 0.2, sd 0.29: with 200 pairs ~10 standard errors away, so
    // p >= 0.01 is out of reach; 60 pairs put it ~5 away and a CI run drew p = 0.015)
    const shifted = Array.from({ length: 200 }, () => rnd() - 0.3);
    expect(wilcoxonSignedRank(shifted).p, `seed ${SEED}`).toBeLessThan(0.01);
  });

  it('Bradley–Terry recovers simulated strengths (ordering, and values within 0.25)', () => {
    const rnd = seededRandom(SEED + 3);
    const truth = [0.8, 0.3, 0, -0.4, -0.7];
    const m = truth.length;
    const wins = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    for (let a = 0; a < m; a++)
      for (let b = a + 1; b < m; b++)
        for (let g = 0; g < 400; g++) {
          if (rnd() < 1 / (1 + Math.exp(truth[b]! - truth[a]!))) wins[a]![b]!++;
          else wins[b]![a]!++;
        }
    const est = bradleyTerry(wins);
    const centred = truth.map((t) => t - truth.reduce((s, x) => s + x, 0) / m);
    est.forEach((e, i) => expect(Math.abs(e - centred[i]!), `seed ${SEED}`).toBeLessThan(0.25));
    expect([...est.keys()].sort((a, b) => est[b]! - est[a]!)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('comparing recorded outcomes', () => {
  it('ranks by the records’ accuracy, and its significant pairs are the reference McNemar + Holm ones', () => {
    const rnd = seededRandom(SEED + 4);
    // gaps of 15 points: equal sample accuracies (an ambiguous ranking) are vanishingly rare
    const acc: Record<string, number> = { a: 0.9, b: 0.75, c: 0.6, d: 0.45 };
    const records = Array.from({ length: 400 }, (_, i) => ({
      prompt: `q${i}`,
      task: i % 2 ? 'math' : 'code',
      outcomes: Object.fromEntries(Object.entries(acc).map(([m, p]) => [m, rnd() < p ? 1 : 0])),
      costs: { a: 0.01, b: 0.002, c: 0.001, d: 0.0005 },
      source: `gen:${i}`,
    }));
    const { cases, models, results } = replayRecords(records);
    const r = analyzeComparison(cases, models, results);
    // the ranking by quality is the data's accuracy ranking
    const dataAcc = models.map((m) => records.reduce((s, x) => s + x.outcomes[m]!, 0) / records.length);
    const byData = [...models].sort((x, y) => dataAcc[models.indexOf(y)]! - dataAcc[models.indexOf(x)]!);
    const byReport = [...r.models].sort((x, y) => y.quality.mean - x.quality.mean).map((s) => s.model);
    expect(byReport).toEqual(byData);
    r.models.forEach((s) => expect(s.quality.mean).toBeCloseTo(dataAcc[models.indexOf(s.model)]!, 12));
    // reference: discordant counts, exact McNemar, Holm over the six pairs
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < models.length; i++)
      for (let j = i + 1; j < models.length; j++) pairs.push([models[i]!, models[j]!]);
    const ps = pairs.map(([x, y]) => {
      const b = records.filter((t) => t.outcomes[x] === 1 && t.outcomes[y] === 0).length;
      const c = records.filter((t) => t.outcomes[x] === 0 && t.outcomes[y] === 1).length;
      return Math.min(1, 2 * binomTailHalf(Math.min(b, c), b + c));
    });
    const adjusted = holm(ps);
    const refSignificant = pairs.filter((_, k) => adjusted[k]! <= 0.05).map((p) => p.join('-'));
    expect(r.pairs.filter((p) => p.significant).map((p) => `${p.a}-${p.b}`)).toEqual(refSignificant);
    expect(refSignificant).toContain('a-d'); // 0.9 against 0.45 on 400 prompts
    expect(r.recommendations.quality).toBe('a');
    expect(r.recommendations.cost).toBe('d');
    expect(r.pareto).toContain('a');
  });
});
