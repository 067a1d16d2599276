/**
 * A comparison's analysis from its results: per model quality (with an interval), latency, cost
 * per 1,000 requests and the weighted overall score; every pair on the prompts both answered — win
 * rate with its Wilson interval, the exact McNemar test for right/wrong outcomes or Wilcoxon's
 * signed-rank test for graded ones, Holm-adjusted over the pairs; Bradley–Terry strengths with
 * bootstrap intervals; per model and task, strengths and weaknesses where the model differs
 * significantly from the others on the same prompts; consensus and divergence; recommendations;
 * and the Pareto front over quality, cost and p95 latency.
 */
import {
  bradleyTerry,
  holm,
  mcnemarExact,
  pairedBootstrap,
  seededRandom,
  wilcoxonSignedRank,
  wilson,
} from '../stats/index.js';
import type {
  CallResult,
  CompareCase,
  CompareReport,
  Judgment,
  ModelSummary,
  PairResult,
  ScoreWeights,
} from './types.js';

export const DEFAULT_WEIGHTS: ScoreWeights = { quality: 0.6, performance: 0.2, cost: 0.2 };

const quantile = (xs: readonly number[], q: number): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

/** quality[case][model] for ok results (a failed call counts as quality 0, as the bench scores it). */
function table(cases: readonly CompareCase[], models: readonly string[], results: readonly CallResult[]) {
  const byKey = new Map(results.map((r) => [`${r.case}\u0000${r.model}`, r]));
  return cases.map((c) => models.map((m) => byKey.get(`${c.id}\u0000${m}`)));
}

export function analyzeComparison(
  cases: readonly CompareCase[],
  models: readonly string[],
  results: readonly CallResult[],
  weights: ScoreWeights = DEFAULT_WEIGHTS,
  alpha = 0.05,
  judgments: readonly Judgment[] = [],
): CompareReport {
  const grid = table(cases, models, results);
  const q = (i: number, j: number) => grid[i]![j]?.quality;
  const binary = results.every((r) => r.quality === 0 || r.quality === 1);
  // pairwise outcomes: the judge's verdicts when there are any, else the scores compared
  const outcomes = judgments.length ? judgedRows(cases, models, judgments) : scoredRows(grid, models.length);
  const pairs = judgments.length ? judgedPairs(models, outcomes, alpha) : pairResults(grid, models, binary, alpha);
  const strength = bradleyTerry(winMatrix(outcomes, models.length));
  const bands = btBootstrap(outcomes, models.length);
  const perModel = models.map((m, j) => {
    const rs = grid.map((row) => row[j]).filter((r): r is CallResult => r !== undefined);
    const ok = rs.filter((r) => r.status === 'ok');
    const qs = rs.map((r) => r.quality);
    const mean = qs.length ? qs.reduce((s, x) => s + x, 0) / qs.length : 0;
    const band = binary ? wilson(qs.filter((x) => x === 1).length, qs.length, alpha) : bootstrapBand(qs);
    const lat = ok.map((r) => r.latencyMs).filter((x) => x > 0);
    return {
      model: m,
      calls: rs.length,
      errors: rs.length - ok.length,
      errorRate: rs.length ? (rs.length - ok.length) / rs.length : 0,
      quality: { mean, ...band },
      p50LatencyMs: quantile(lat, 0.5),
      p95LatencyMs: quantile(lat, 0.95),
      costPer1k: rs.length ? (1000 * rs.reduce((s, r) => s + r.cost, 0)) / rs.length : 0,
      tokens: rs.reduce((s, r) => s + r.promptTokens + r.completionTokens, 0),
      overall: 0,
      strength: { value: strength[j]!, low: bands[j]![0]!, high: bands[j]![1]! },
    };
  });
  score(perModel, weights);
  const by = (f: (s: ModelSummary) => number, dir: 1 | -1) =>
    [...perModel].sort((x, y) => dir * (f(y) - f(x)) || x.model.localeCompare(y.model))[0]!.model;
  const timed = perModel.filter((s) => s.p95LatencyMs !== null);
  return {
    models: perModel,
    pairs,
    strengths: taskStrengths(cases, models, grid, binary, alpha),
    consensus: consensus(cases, models, q),
    recommendations: {
      overall: by((s) => s.overall, 1),
      quality: by((s) => s.quality.mean, 1),
      speed: timed.length ? [...timed].sort((x, y) => x.p95LatencyMs! - y.p95LatencyMs!)[0]!.model : null,
      cost: by((s) => s.costPer1k, -1),
    },
    pareto: pareto(perModel),
    weights,
    cases: cases.length,
    alpha,
  };
}

/** The overall score: quality, performance (best p95 / this p95) and cost efficiency (cheapest / this), weighted. */
function score(models: ModelSummary[], w: ScoreWeights): void {
  const lat = models.map((s) => s.p95LatencyMs).filter((x): x is number => x !== null && x > 0);
  const bestLat = lat.length ? Math.min(...lat) : null;
  const costs = models.map((s) => s.costPer1k).filter((x) => x > 0);
  const cheapest = costs.length ? Math.min(...costs) : null;
  // a component nobody has (no latencies: recorded data) drops out and the others are renormalised
  const wp = bestLat === null ? 0 : w.performance;
  const wc = cheapest === null ? 0 : w.cost;
  const total = w.quality + wp + wc || 1;
  for (const s of models) {
    const perf = bestLat === null || !s.p95LatencyMs ? 0 : bestLat / s.p95LatencyMs;
    const eff = cheapest === null ? 0 : s.costPer1k > 0 ? cheapest / s.costPer1k : 1;
    s.overall = (w.quality * s.quality.mean + wp * perf + wc * eff) / total;
  }
}

function pairResults(
  grid: ReadonlyArray<ReadonlyArray<CallResult | undefined>>,
  models: readonly string[],
  binary: boolean,
  alpha: number,
): PairResult[] {
  const raw: RawPair[] = [];
  for (let a = 0; a < models.length; a++)
    for (let b = a + 1; b < models.length; b++) {
      const diffs: number[] = [];
      for (const row of grid) {
        const x = row[a]?.quality;
        const y = row[b]?.quality;
        if (x !== undefined && y !== undefined) diffs.push(x - y);
      }
      const winsA = diffs.filter((d) => d > 0).length;
      const winsB = diffs.filter((d) => d < 0).length;
      raw.push({
        ...pairRow(models[a]!, models[b]!, winsA, winsB, diffs.length - winsA - winsB, alpha),
        test: binary ? 'mcnemar' : 'wilcoxon',
        p: binary ? mcnemarExact(winsA, winsB) : wilcoxonSignedRank(diffs).p,
      });
    }
  return withHolm(raw, alpha);
}

type RawPair = Omit<PairResult, 'pAdjusted' | 'significant'>;

/** A pair's row from its wins, losses and ties: the win rate (ties half) with its Wilson interval. */
function pairRow(a: string, b: string, winsA: number, winsB: number, ties: number, alpha: number) {
  const n = winsA + winsB + ties;
  return {
    a,
    b,
    n,
    winsA,
    winsB,
    ties,
    winRate: n ? (winsA + ties / 2) / n : 0.5,
    ...wilson(winsA + ties / 2, n, alpha),
  };
}

/** Holm's adjustment over all pairs, and which are significant after it. */
function withHolm(raw: readonly RawPair[], alpha: number): PairResult[] {
  const adjusted = holm(raw.map((r) => r.p));
  return raw.map((r, i) => ({ ...r, pAdjusted: adjusted[i]!, significant: adjusted[i]! <= alpha }));
}

/** A bootstrap 95% interval of a mean (seeded). */
function bootstrapBand(xs: readonly number[]): { low: number; high: number } {
  if (!xs.length) return { low: 0, high: 0 };
  const b = pairedBootstrap(xs, xs, { resamples: 1000, seed: 7 }).mean;
  return { low: b[0], high: b[1] };
}

/** A prompt's pairwise outcomes: [a, b, 1 | 0.5 | 0] (a's share of the win). */
type Outcome = readonly [number, number, number];

/** Outcomes from the scores: the higher quality wins, equal ones tie. */
function scoredRows(grid: ReadonlyArray<ReadonlyArray<CallResult | undefined>>, m: number): Outcome[][] {
  return grid.map((row) => {
    const out: Outcome[] = [];
    for (let a = 0; a < m; a++)
      for (let b = a + 1; b < m; b++) {
        const x = row[a]?.quality;
        const y = row[b]?.quality;
        if (x !== undefined && y !== undefined) out.push([a, b, x > y ? 1 : x === y ? 0.5 : 0]);
      }
    return out;
  });
}

/** Outcomes from the judge's verdicts, per prompt. */
function judgedRows(cases: readonly CompareCase[], models: readonly string[], js: readonly Judgment[]): Outcome[][] {
  const at = new Map(cases.map((c, i) => [c.id, i]));
  const rows: Outcome[][] = cases.map(() => []);
  for (const j of js) {
    const i = at.get(j.case);
    const a = models.indexOf(j.a);
    const b = models.indexOf(j.b);
    if (i === undefined || a < 0 || b < 0) continue;
    rows[i]!.push([a, b, j.winner === 'a' ? 1 : j.winner === 'tie' ? 0.5 : 0]);
  }
  return rows;
}

function winMatrix(rows: readonly Outcome[][], m: number): number[][] {
  const wins = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (const row of rows)
    for (const [a, b, s] of row) {
      wins[a]![b]! += s;
      wins[b]![a]! += 1 - s;
    }
  return wins;
}

/** Pairs from the judge: wins, losses and ties (split verdicts), the exact sign test on the decided ones. */
function judgedPairs(models: readonly string[], rows: readonly Outcome[][], alpha: number): PairResult[] {
  const raw: RawPair[] = [];
  for (let a = 0; a < models.length; a++)
    for (let b = a + 1; b < models.length; b++) {
      const mine = rows.flat().filter(([x, y]) => x === a && y === b);
      const winsA = mine.filter((o) => o[2] === 1).length;
      const winsB = mine.filter((o) => o[2] === 0).length;
      raw.push({
        ...pairRow(models[a]!, models[b]!, winsA, winsB, mine.length - winsA - winsB, alpha),
        test: 'judge',
        p: mcnemarExact(winsA, winsB),
      });
    }
  return withHolm(raw, alpha);
}

/** Bradley–Terry strengths refitted on 200 resamples of the prompts: each model's 2.5% and 97.5% points. */
function btBootstrap(rows: readonly Outcome[][], m: number): number[][] {
  const rand = seededRandom(11);
  const draws: number[][] = Array.from({ length: m }, () => []);
  for (let r = 0; r < 200 && rows.length; r++) {
    const sample = Array.from({ length: rows.length }, () => rows[Math.floor(rand() * rows.length)]!);
    bradleyTerry(winMatrix(sample, m), 200).forEach((s, i) => draws[i]!.push(s));
  }
  return draws.map((d) => [quantile(d, 0.025) ?? 0, quantile(d, 0.975) ?? 0]);
}

/** Per model and task: the model against the mean of the others on the same prompts, Holm across each model's tasks. */
function taskStrengths(
  cases: readonly CompareCase[],
  models: readonly string[],
  grid: ReadonlyArray<ReadonlyArray<CallResult | undefined>>,
  binary: boolean,
  alpha: number,
): CompareReport['strengths'] {
  const tasks = [...new Set(cases.map((c) => c.task ?? 'all'))];
  const out: CompareReport['strengths'] = [];
  models.forEach((model, j) => {
    const rows = tasks.map((task) => {
      const diffs: number[] = [];
      cases.forEach((c, i) => {
        if ((c.task ?? 'all') !== task) return;
        const mine = grid[i]![j]?.quality;
        const others = grid[i]!.filter((r, k) => k !== j && r !== undefined).map((r) => r!.quality);
        if (mine !== undefined && others.length) diffs.push(mine - others.reduce((s, x) => s + x, 0) / others.length);
      });
      const up = diffs.filter((d) => d > 0).length;
      const down = diffs.filter((d) => d < 0).length;
      const p = binary && models.length === 2 ? mcnemarExact(up, down) : wilcoxonSignedRank(diffs).p;
      return { task, p, difference: diffs.length ? diffs.reduce((s, x) => s + x, 0) / diffs.length : 0 };
    });
    const adj = holm(rows.map((r) => r.p));
    rows.forEach((r, k) => {
      if (adj[k]! <= alpha && r.difference !== 0)
        out.push({
          model,
          task: r.task,
          difference: r.difference,
          p: adj[k]!,
          kind: r.difference > 0 ? 'strength' : 'weakness',
        });
    });
  });
  return out;
}

function consensus(
  cases: readonly CompareCase[],
  models: readonly string[],
  q: (i: number, j: number) => number | undefined,
): CompareReport['consensus'] {
  let agree = 0;
  let split = 0;
  const spread: Array<{ case: string; qualities: Record<string, number>; range: number }> = [];
  cases.forEach((c, i) => {
    const qs = models.map((_, j) => q(i, j)).filter((x): x is number => x !== undefined);
    if (qs.length < 2) return;
    const range = Math.max(...qs) - Math.min(...qs);
    if (range === 0) agree++;
    else {
      split++;
      spread.push({ case: c.id, qualities: Object.fromEntries(models.map((m, j) => [m, q(i, j) ?? NaN])), range });
    }
  });
  spread.sort((a, b) => b.range - a.range);
  return { agree, split, examples: spread.slice(0, 10).map(({ range: _r, ...e }) => e) };
}

/** Models no other is at least as good as on quality, cost and p95 latency, and better on one. */
function pareto(models: readonly ModelSummary[]): string[] {
  const lat = (s: ModelSummary) => s.p95LatencyMs ?? 0;
  return models
    .filter(
      (s) =>
        !models.some(
          (o) =>
            o !== s &&
            o.quality.mean >= s.quality.mean &&
            o.costPer1k <= s.costPer1k &&
            lat(o) <= lat(s) &&
            (o.quality.mean > s.quality.mean || o.costPer1k < s.costPer1k || lat(o) < lat(s)),
        ),
    )
    .map((s) => s.model);
}
