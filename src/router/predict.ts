/**
 * Per-model predictions for one prompt. Quality: the manifold's kNN vote, shrunk toward the
 * model's prior (its configured task strengths under the task distribution) by the vote's
 * effective sample size, so a model without outcomes routes on its prior and sharpens with
 * feedback. Cost: estimated tokens times price. Latency: measured (the outcome store's profiles)
 * once a model has enough calls, else the model's latency prior.
 */
import { estimateTokens } from '../text.js';
import type { ModelSpec } from '../config/index.js';
import type { Drift } from './drift.js';
import { calibratedQuality, type QualityCalibration } from './quality.js';
import type { CostTable, NeighbourVote, Prediction } from './types.js';

export interface PredictInputs {
  /** Expected output tokens (default: by task type). */
  maxTokens?: number;
  /** Observed costs from training data. */
  costs?: CostTable;
  /** The analysis head's predicted pool success per task (a trained model's). */
  ease?: Record<string, number>;
  /** Per-model capability vectors (a trained model's). */
  calibration?: QualityCalibration;
  /** Measured latency per model (the outcome store's profiles), in place of the configured prior. */
  latency?: ReadonlyMap<string, { firstTokenMs: number; tokensPerSec: number }>;
  /**
   * Measured tokens per model (the outcome store's profiles): the upstream's prompt tokens per
   * estimated token, and mean completion tokens per task ('*': all) — cost and latency follow them.
   */
  tokens?: ReadonlyMap<string, MeasuredTokens>;
  /** Corrections from recent ratings against predictions (see drift.ts). */
  drift?: Pick<Drift, 'correction'>;
}

/**
 * The prompt length a trained cost table's mean stands for (router models keep mean costs per
 * task, not lengths; RouterBench's prompts are mostly shorter): tokens past it are added at the price.
 */
export const TYPICAL_PROMPT_TOKENS = 512;

export interface MeasuredTokens {
  promptRatio: number;
  output: Readonly<Record<string, number>>;
}

/** Output tokens expected per task type when the request does not say. */
export const OUTPUT_TOKENS: Record<string, number> = {
  math: 350,
  code: 450,
  reasoning: 250,
  knowledge: 60,
  creative: 600,
  extraction: 250,
  conversation: 150,
};
const DEFAULT_STRENGTH = 0.5;
/** Prior pseudo-count: how many neighbour votes a prior is worth. */
export const PRIOR_WEIGHT = 4;

export function estimateInputTokens(prompt: string): number {
  return estimateTokens(prompt);
}

/** Σ p(task) · f(task) over a task distribution, in its key order (no arrays: this runs per model per prompt). */
export function expectOver(taskDist: Record<string, number>, f: (task: string) => number): number {
  let s = 0;
  for (const t in taskDist) s += taskDist[t]! * f(t);
  return s;
}

export function priorQuality(model: ModelSpec, taskDist: Record<string, number>): number {
  let any = false;
  for (const _ in taskDist) {
    any = true;
    break;
  }
  if (!any) return model.strengths.general ?? DEFAULT_STRENGTH;
  return expectOver(taskDist, (task) => model.strengths[task] ?? model.strengths.general ?? DEFAULT_STRENGTH);
}

/** The kNN vote's quality for one model shrunk toward its prior by the vote's effective sample size. */
export function shrunkQuality(
  m: ModelSpec,
  taskDist: Record<string, number>,
  vote: NeighbourVote | undefined,
): Pick<Prediction, 'quality' | 'qualityStderr' | 'qualitySource'> {
  const prior = priorQuality(m, taskDist);
  const v = vote?.quality[m.id];
  const priorStderr = Math.sqrt((prior * (1 - prior) + 1 / 12) / (PRIOR_WEIGHT + 1));
  if (!v) return { quality: prior, qualityStderr: priorStderr, qualitySource: 'prior' };
  return {
    quality: (v.nEff * v.mean + PRIOR_WEIGHT * prior) / (v.nEff + PRIOR_WEIGHT),
    qualityStderr: Math.sqrt((v.stderr ** 2 * v.nEff + priorStderr ** 2 * PRIOR_WEIGHT) / (v.nEff + PRIOR_WEIGHT)),
    qualitySource: v.nEff >= PRIOR_WEIGHT ? 'manifold' : 'manifold+prior',
  };
}

/**
 * Quality: the kNN vote shrunk toward the prior, then, for a model with learned capabilities, put
 * through its calibration with the prompt's predicted ease. Cost: the observed mean cost of the
 * model under the task distribution when a cost table has the model (training data) and no calls
 * have been measured, else the tokens — measured when the profiles have them, estimated when not —
 * times the configured prices.
 */
export function predict(
  models: readonly ModelSpec[],
  prompt: string,
  taskDist: Record<string, number>,
  vote: NeighbourVote | undefined,
  inputs: PredictInputs = {},
  /** (in place of inputs.maxTokens: a caller need not copy its inputs to set it) */
  maxTokens = inputs.maxTokens,
): Prediction[] {
  const costs = inputs.costs;
  const inputTokens = estimateInputTokens(prompt);
  const outputTokens = maxTokens ?? Math.round(expectOver(taskDist, (t) => OUTPUT_TOKENS[t] ?? 250) || 250);
  return models.map((m) => {
    const shrunk = shrunkQuality(m, taskDist, vote);
    const { qualityStderr } = shrunk;
    let { quality, qualitySource } = shrunk;
    const learned = calibratedQuality(inputs.calibration?.[m.id], taskDist, inputs.ease, quality);
    if (learned !== undefined) {
      quality = learned;
      qualitySource = 'learned';
    }
    const drift = inputs.drift?.correction(m.id, taskDist) ?? 0;
    if (drift !== 0) quality = Math.min(1, Math.max(0, quality + drift));
    // measured tokens (live calls) win over the training data's cost table and the task defaults
    const measured = inputs.tokens?.get(m.id);
    const inTokens = measured ? Math.max(1, Math.round(inputTokens * measured.promptRatio)) : inputTokens;
    const outTokens =
      maxTokens ??
      (measured
        ? Math.round(
            expectOver(taskDist, (t) => measured.output[t] ?? measured.output['*'] ?? OUTPUT_TOKENS[t] ?? 250),
          ) || Math.round(measured.output['*'] ?? outputTokens)
        : outputTokens);
    const observed = costs?.[m.id];
    const byTokens = (inTokens / 1000) * m.cost.inputPer1k + (outTokens / 1000) * m.cost.outputPer1k;
    // the training data's mean cost of a call is what a typical prompt costs; the input tokens of
    // a longer one are added at the model's price — cost follows length
    const cost =
      observed && observed['*'] !== undefined && maxTokens === undefined && !measured
        ? (expectOver(taskDist, (t) => observed[t] ?? observed['*']!) || observed['*']!) +
          (Math.max(0, inTokens - TYPICAL_PROMPT_TOKENS) / 1000) * m.cost.inputPer1k
        : byTokens;
    const lat = inputs.latency?.get(m.id) ?? m.latency;
    const latencyMs = lat.firstTokenMs + (outTokens / lat.tokensPerSec) * 1000;
    return {
      model: m.id,
      quality,
      qualityStderr,
      qualitySource,
      inputTokens: inTokens,
      outputTokens: outTokens,
      cost,
      latencyMs,
    };
  });
}
