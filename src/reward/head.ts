/**
 * The learned outcome reward ("head"): P(a candidate response is right) from features of the
 * prompt and the response — the answering model's learned reliability on this kind of task, how
 * many (reliability-weighted) other candidates reach the same final answer, whether it agrees with
 * the most reliable model, whether an answer can be extracted at all, hedging/refusal cues and
 * length — by logistic regression. Features are
 * standardised inside; scoring is one dense layer + sigmoid, so it runs on the compute backend's
 * batched `mlp` kernel.
 */
import type { ComputeBackend, DenseLayer } from '../compute/index.js';
import { arithmeticStepScore } from './verify.js';

export const REWARD_FEATURES = ['reliabilityLogit', 'weightedAgreement', 'agreement', 'extracted', 'logLength', 'hedging', 'isTopModel', 'agreesWithTop', 'reliabilityXagreement', 'arithmeticChecked', 'arithmeticWrong'] as const;

const HEDGE = /\b(i'?m not sure|i am not sure|cannot|can't|unable to|as an ai|i don't know|it depends|unclear|not enough information|sorry)\b/i;

export interface RewardCandidate {
  model: string;
  response: string;
  /** Canonical final answer, or null when none can be extracted (or the task has none). */
  answer: string | null;
}

/** [whether the response has calculations that check out, whether one of its calculations is wrong] */
function arithmetic(response: string): [number, number] {
  const scores = response.split('\n').map(arithmeticStepScore);
  return [scores.some((s) => s === 1) ? 1 : 0, scores.some((s) => s === 0) ? 1 : 0];
}

/** log-odds of a probability clamped to [0.005, 0.995]. */
export const logit = (p: number) => {
  const q = Math.min(0.995, Math.max(0.005, p));
  return Math.log(q / (1 - q));
};

/**
 * Feature rows for the candidates of one prompt. `reliability(model)` is the model's accuracy on
 * this task from training data; agreement counts the other candidates with the same answer.
 */
export function rewardFeatures(cands: readonly RewardCandidate[], reliability: (model: string) => number): Float32Array {
  const F = REWARD_FEATURES.length;
  const out = new Float32Array(cands.length * F);
  const w = cands.map((c) => Math.max(0, logit(reliability(c.model))));
  const top = cands.reduce((a, c, i) => (reliability(c.model) > reliability(cands[a]!.model) ? i : a), 0);
  cands.forEach((c, i) => {
    let same = 0;
    let sameW = 0;
    let totalW = 0;
    cands.forEach((o, j) => {
      if (j === i) return;
      totalW += w[j]!;
      if (c.answer !== null && o.answer === c.answer) {
        same++;
        sameW += w[j]!;
      }
    });
    const row = [
      logit(reliability(c.model)),
      totalW > 0 ? sameW / totalW : 0,
      cands.length > 1 ? same / (cands.length - 1) : 0,
      c.answer !== null ? 1 : 0,
      Math.log1p(c.response.length),
      HEDGE.test(c.response) ? 1 : 0,
      i === top ? 1 : 0,
      c.answer !== null && c.answer === cands[top]!.answer ? 1 : 0,
      logit(reliability(c.model)) * (totalW > 0 ? sameW / totalW : 0),
      ...arithmetic(c.response),
    ];
    out.set(row, i * F);
  });
  return out;
}

export interface RewardHead {
  features: readonly string[];
  layer: DenseLayer;
}

/** Logistic regression by Adam on standardised features; the standardisation folded into the layer. */
export function fitRewardHead(x: Float32Array, y: ArrayLike<number>, options: { l2?: number; iterations?: number } = {}): RewardHead {
  const F = REWARD_FEATURES.length;
  const n = y.length;
  const mu = new Float64Array(F);
  const sd = new Float64Array(F);
  for (let i = 0; i < n; i++) for (let j = 0; j < F; j++) mu[j]! += x[i * F + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < F; j++) sd[j]! += (x[i * F + j]! - mu[j]!) ** 2 / n;
  for (let j = 0; j < F; j++) sd[j] = Math.max(Math.sqrt(sd[j]!), 1e-3);
  const w = new Float64Array(F);
  let b = 0;
  const m = new Float64Array(F + 1);
  const v = new Float64Array(F + 1);
  const l2 = options.l2 ?? 1e-3;
  const g = new Float64Array(F + 1);
  for (let it = 1; it <= (options.iterations ?? 400); it++) {
    g.fill(0);
    for (let i = 0; i < n; i++) {
      let s = b;
      for (let j = 0; j < F; j++) s += (w[j]! * (x[i * F + j]! - mu[j]!)) / sd[j]!;
      const e = (1 / (1 + Math.exp(-s)) - y[i]!) / n;
      for (let j = 0; j < F; j++) g[j]! += (e * (x[i * F + j]! - mu[j]!)) / sd[j]!;
      g[F]! += e;
    }
    for (let j = 0; j < F; j++) g[j]! += l2 * w[j]!;
    for (let j = 0; j <= F; j++) {
      m[j] = 0.9 * m[j]! + 0.1 * g[j]!;
      v[j] = 0.999 * v[j]! + 0.001 * g[j]! ** 2;
      const step = (0.05 * (m[j]! / (1 - 0.9 ** it))) / (Math.sqrt(v[j]! / (1 - 0.999 ** it)) + 1e-8);
      if (j < F) w[j]! -= step;
      else b -= step;
    }
  }
  const weight = new Float32Array(F);
  let bias = b;
  for (let j = 0; j < F; j++) {
    weight[j] = w[j]! / sd[j]!;
    bias -= (w[j]! * mu[j]!) / sd[j]!;
  }
  return { features: [...REWARD_FEATURES], layer: { in: F, out: 1, weight, bias: Float32Array.of(bias), activation: 'sigmoid' } };
}

/** P(right) for n feature rows, on the compute backend. */
export function scoreRewards(head: RewardHead, backend: ComputeBackend, x: Float32Array): Promise<Float32Array> {
  return backend.mlp({ layers: [head.layer] }, x);
}
