/**
 * An experiment's analysis from its arms' aggregates: per arm volume, error rate, cost, latency
 * and rated quality (with the share rated: delayed or sparse feedback counts only where it came);
 * each challenger against the control on the primary metric with the always-valid sequential test
 * (readable at any time) and the fixed-horizon test beside it, Holm-adjusted across challengers;
 * the sample-ratio check on assignments; and the guardrails. The decision: a breached guardrail
 * stops the experiment; a challenger decided better (or the control decided better than every
 * challenger) is the winner.
 */
import type { ExperimentSettings } from '../config/index.js';
import type { ExperimentArmRow } from '../store/index.js';
import {
  holm,
  mixtureLikelihoodRatio,
  confidenceSequence,
  plannedInformation,
  plannedLook,
  plannedZ,
  pooledVariance,
  sampleRatioMismatch,
  twoSidedP,
  welchT,
  type ArmSummary,
} from '../stats/index.js';

export interface ArmReport {
  id: string;
  target: string;
  weight: number;
  requests: number;
  share: number;
  errorRate: number;
  meanCost: number;
  meanLatencyMs: number;
  /** p95 latency with its distribution-free interval (order statistics), when read from the store. */
  p95LatencyMs: Quantile | null;
  rated: number;
  ratedShare: number;
  quality: { mean: number; low: number; high: number } | null;
}

export interface Comparison {
  arm: string;
  /** The metric's difference, arm − control, with its always-valid 1 − α interval. */
  difference: number;
  low: number;
  high: number;
  /** Always-valid p-value (1/Λ of the mixture SPRT), and Holm-adjusted across challengers. */
  p: number;
  pAdjusted: number;
  /** The fixed-horizon Welch test, for reference (valid only if read once, at a planned size). */
  pFixed: number;
  better: boolean | undefined;
  /** The planned design's state: z now, the boundary of the last look, the looks' information fractions. */
  planned?: { z: number; boundary: number | null; information: number; looks: number[]; final: boolean };
}

/** A quantile's point estimate and interval. */
export interface Quantile {
  point: number;
  low: number;
  high: number;
}

/** What the analysis reads beside the aggregates: p95 latencies per arm, and the planned test's looks so far per challenger. */
export interface AnalysisInputs {
  p95?: ReadonlyMap<string, Quantile>;
  looks?: Readonly<Record<string, readonly number[]>>;
}

export interface Decision {
  state: 'running' | 'stopped' | 'decided';
  winner?: string;
  reason: string;
}

export interface ExperimentReport {
  id: string;
  metric: ExperimentSettings['metric'];
  arms: ArmReport[];
  comparisons: Comparison[];
  srm: { chi2: number; p: number; mismatch: boolean };
  guardrails: Array<{ arm: string; breached: string[] }>;
  decision: Decision;
}

const LOWER_IS_BETTER = new Set(['cost', 'latency', 'errors']);

/** The metric's per-unit summary of an arm (mean and sample variance from sums). */
function summary(r: ExperimentArmRow, metric: ExperimentSettings['metric']): ArmSummary {
  const fromSums = (n: number, sum: number, sq: number): ArmSummary => {
    const mean = n ? sum / n : 0;
    return { n, mean, variance: n > 1 ? Math.max(0, (sq - n * mean * mean) / (n - 1)) : 0 };
  };
  if (metric === 'quality') return fromSums(r.rated, r.score, r.scoreSq);
  if (metric === 'cost') return fromSums(r.n, r.cost, r.costSq);
  if (metric === 'latency') return fromSums(r.n, r.latency, r.latencySq);
  return fromSums(r.n, r.errors, r.errors); // errors are 0/1: the sum of squares is the sum
}

/**
 * What an arm sends a request to: its model, `auto:<strategy>`, `pipeline:<id>`,
 * `decode:<strategy>` or `router:<experiment>/<arm>` (the arm's trained router).
 */
export function armTarget(a: ExperimentSettings['arms'][number], experiment = ''): string {
  if (a.model !== undefined) return a.model;
  if (a.pipeline !== undefined) return `pipeline:${a.pipeline}`;
  if (a.decoding !== undefined) return `decode:${a.decoding}`;
  if (a.router !== undefined) return `router:${experiment}/${a.id}`;
  return `auto:${a.strategy}`;
}

/** An arm with no requests yet. */
export const emptyArm = (arm: string): ExperimentArmRow => ({
  arm,
  n: 0,
  errors: 0,
  cost: 0,
  costSq: 0,
  latency: 0,
  latencySq: 0,
  rated: 0,
  score: 0,
  scoreSq: 0,
});

export function analyzeExperiment(
  x: ExperimentSettings,
  rows: readonly ExperimentArmRow[],
  inputs: AnalysisInputs = {},
): ExperimentReport {
  const byArm = new Map(rows.map((r) => [r.arm, r]));
  const data = x.arms.map((a) => byArm.get(a.id) ?? emptyArm(a.id));
  const total = data.reduce((s, r) => s + r.n, 0);
  const arms: ArmReport[] = x.arms.map((a, i) => {
    const r = data[i]!;
    const q = summary(r, 'quality');
    const half = q.n > 1 ? 1.96 * Math.sqrt(q.variance / q.n) : undefined;
    return {
      id: a.id,
      target: armTarget(a, x.id),
      weight: a.weight,
      requests: r.n,
      share: total ? r.n / total : 0,
      errorRate: r.n ? r.errors / r.n : 0,
      meanCost: r.n ? r.cost / r.n : 0,
      meanLatencyMs: r.n ? r.latency / r.n : 0,
      p95LatencyMs: inputs.p95?.get(a.id) ?? null,
      rated: r.rated,
      ratedShare: r.n ? r.rated / r.n : 0,
      quality: half === undefined ? null : { mean: q.mean, low: q.mean - half, high: q.mean + half },
    };
  });
  const comparisons = compare(x, data, inputs.looks ?? {});
  // a bandit moves traffic on purpose: the sample-ratio check is for fixed splits
  const srm =
    x.mode === 'bandit'
      ? { chi2: 0, p: 1, mismatch: false }
      : sampleRatioMismatch(
          data.map((r) => r.n),
          x.arms.map((a) => a.weight),
        );
  const guardrails = guardrailStates(x, data, arms);
  return {
    id: x.id,
    metric: x.metric,
    arms,
    comparisons,
    srm,
    guardrails,
    decision: decide(x, comparisons, guardrails),
  };
}

/**
 * Each challenger against the control on the primary metric. Always valid: the mixture SPRT's
 * p-value and confidence sequence, Holm-adjusted across challengers. Planned: the group-sequential
 * design at α / (challengers) each (Bonferroni), a look taken when one is due; a challenger not
 * decided by the planned horizon is not better.
 */
function compare(
  x: ExperimentSettings,
  data: readonly ExperimentArmRow[],
  looks: Readonly<Record<string, readonly number[]>>,
): Comparison[] {
  const control = summary(data[0]!, x.metric);
  const k = data.length - 1;
  const raw = data.slice(1).map((r, i) => {
    const s = summary(r, x.metric);
    const cs = confidenceSequence(control, s, x.minDifference, x.alpha);
    const p = Math.min(1, 1 / mixtureLikelihoodRatio(control, s, x.minDifference));
    return { arm: x.arms[i + 1]!.id, difference: s.mean - control.mean, ...cs, p, pFixed: welchT(control, s).p, s };
  });
  const lowerBetter = LOWER_IS_BETTER.has(x.metric);
  if (x.test === 'planned') {
    const alpha = x.alpha / k;
    // 0/1 outcomes (errors; ratings that are all 0 or 1: Σx² = Σx only then) take the continuity correction
    const binary = x.metric === 'errors' || (x.metric === 'quality' && data.every((r) => r.scoreSq === r.score));
    const maxInformation = plannedInformation(x.minDifference, alpha, x.power);
    return raw.map(({ s, ...c }) => {
      const prior = looks[c.arm] ?? [];
      const look = plannedLook(control, s, maxInformation, alpha, prior, binary);
      const v = pooledVariance(control, s);
      const z = v > 0 ? plannedZ(control, s, v, binary) : 0;
      const pFixed = twoSidedP(z);
      const final = look ? look.final : (prior.at(-1) ?? 0) >= 1;
      const better = look?.decided ? c.difference > 0 !== lowerBetter : final ? false : undefined;
      return {
        ...c,
        p: pFixed,
        pAdjusted: Math.min(1, pFixed * k),
        better,
        planned: {
          z,
          boundary: look?.boundary ?? null,
          information: v > 0 ? Math.min(1, 1 / v / maxInformation) : 0,
          looks: look?.fractions ?? [...prior],
          final,
        },
      };
    });
  }
  const adjusted = holm(raw.map((c) => c.p));
  return raw.map(({ s: _s, ...c }, i) => {
    const pAdjusted = adjusted[i]!;
    return { ...c, pAdjusted, better: pAdjusted <= x.alpha ? c.difference > 0 !== lowerBetter : undefined };
  });
}

/**
 * The guardrails: a challenger is stopped when it is past a threshold and the difference is real —
 * the always-valid test on that metric says so (noise on small latencies must not stop anything);
 * for p95 latency, the challenger's interval lies wholly above the control's.
 */
function guardrailStates(
  x: ExperimentSettings,
  data: readonly ExperimentArmRow[],
  arms: readonly ArmReport[],
): Array<{ arm: string; breached: string[] }> {
  const g = x.guardrails;
  const worse = (metric: 'errors' | 'cost', i: number, tau: number) =>
    tau > 0 && 1 / mixtureLikelihoodRatio(summary(data[0]!, metric), summary(data[i]!, metric), tau) <= x.alpha;
  return arms.slice(1).map((a, j) => {
    const i = j + 1;
    const breached: string[] = [];
    const c = arms[0]!;
    if (a.requests >= g.minUnits && c.requests >= g.minUnits) {
      if (a.errorRate - c.errorRate > g.errorRate && worse('errors', i, g.errorRate))
        breached.push(`error rate ${(100 * a.errorRate).toFixed(1)}% vs ${(100 * c.errorRate).toFixed(1)}%`);
      const pa = a.p95LatencyMs;
      const pc = c.p95LatencyMs;
      if (pa && pc && pc.point > 0 && pa.point / pc.point > g.latencyRatio && pa.low > pc.high)
        breached.push(`p95 latency ${pa.point.toFixed(0)} ms vs ${pc.point.toFixed(0)} ms`);
      if (
        g.costRatio !== undefined &&
        c.meanCost > 0 &&
        a.meanCost / c.meanCost > g.costRatio &&
        worse('cost', i, c.meanCost * (g.costRatio - 1))
      )
        breached.push(`cost ${a.meanCost.toPrecision(3)} vs ${c.meanCost.toPrecision(3)}`);
    }
    return { arm: a.id, breached };
  });
}

function decide(
  x: ExperimentSettings,
  comparisons: readonly Comparison[],
  guardrails: ReadonlyArray<{ arm: string; breached: string[] }>,
): Decision {
  const breach = guardrails.find((g) => g.breached.length);
  if (breach) return { state: 'stopped', reason: `guardrail breached by ${breach.arm}: ${breach.breached.join('; ')}` };
  const winners = comparisons.filter((c) => c.better === true);
  if (winners.length) {
    // the best of the challengers decided better than the control
    const lowerBetter = LOWER_IS_BETTER.has(x.metric);
    const best = winners.reduce((a, b) => (b.difference > a.difference !== lowerBetter ? b : a));
    return {
      state: 'decided',
      winner: best.arm,
      reason: `${best.arm} beats ${x.arms[0]!.id} on ${x.metric} by ${best.difference.toFixed(4)} (always-valid p ${best.pAdjusted.toPrecision(2)})`,
    };
  }
  if (comparisons.length && comparisons.every((c) => c.better === false))
    return x.test === 'planned'
      ? {
          state: 'decided',
          winner: x.arms[0]!.id,
          reason: `no challenger differs from ${x.arms[0]!.id} on ${x.metric} at the planned horizon: the control stays`,
        }
      : {
          state: 'decided',
          winner: x.arms[0]!.id,
          reason: `${x.arms[0]!.id} (control) beats every challenger on ${x.metric}`,
        };
  return { state: 'running', reason: 'no decision yet' };
}
