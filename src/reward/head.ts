/**
 * The learned outcome reward ("head"): P(a candidate response is right) from features of the
 * prompt and the response — the answering model's learned reliability on this kind of task, how
 * many (reliability-weighted) other candidates reach the same final answer, whether it agrees with
 * the most reliable model, whether an answer can be extracted at all, hedging/refusal cues and
 * length — by logistic regression. Features are
 * standardised inside; scoring is one dense layer + sigmoid, so it runs on the compute backend's
 * batched `mlp` kernel.
 */
import { oneLayer, type ComputeBackend, type DenseLayer } from '../compute/index.js';
import { logit } from '../math.js';
import { arithmeticStepScore } from './verify.js';

export const REWARD_FEATURES = [
  'reliabilityLogit',
  'weightedAgreement',
  'agreement',
  'extracted',
  'logLength',
  'hedging',
  'isTopModel',
  'agreesWithTop',
  'reliabilityXagreement',
  'arithmeticChecked',
  'arithmeticWrong',
] as const;

const HEDGE =
  /\b(i'?m not sure|i am not sure|cannot|can't|unable to|as an ai|i don't know|it depends|unclear|not enough information|sorry)\b/i;

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

/**
 * Feature rows for the candidates of one prompt. `reliability(model)` is the model's accuracy on
 * this task from training data; agreement counts the other candidates with the same answer.
 */
export function rewardFeatures(
  cands: readonly RewardCandidate[],
  reliability: (model: string) => number,
): Float32Array {
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

/** P(right) for n feature rows, on the compute backend. */
export function scoreRewards(head: RewardHead, backend: ComputeBackend, x: Float32Array): Promise<Float32Array> {
  return backend.mlp(oneLayer(head.layer), x);
}
