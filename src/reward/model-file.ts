/**
 * The learned reward's file (`arbiter train-reward` writes it; learn/reward.ts fits it) and the
 * lookups serving needs: a task's head, a model's reliability, the selection rule.
 */
import type { CascadeModel } from './cascade-types.js';
import type { RewardHead } from './head.js';

/** One prompt with every model's recorded response and outcome (the eval harness's records fit). */
export interface RewardRecord {
  prompt: string;
  task?: string;
  responses?: Record<string, string>;
  outcomes: Record<string, number>;
}

export interface RewardModelFile {
  format: 'arbiter-reward-head';
  version: 1;
  features: string[];
  models: string[];
  /** Per task (and '*' over all): the logistic layer. */
  heads: Record<string, { weight: number[]; bias: number }>;
  /** Per task and model: accuracy on the training prompts (Laplace-smoothed). */
  reliability: Record<string, Record<string, number>>;
  /** Per task: the cascade's acceptance threshold (from out-of-fold scores). */
  accept: Record<string, number>;
  /**
   * Per task: how much a candidate's reward must exceed the most reliable model's for a selection
   * to prefer it (chosen on out-of-fold scores; 1: never). Absent in older files: 0 (plain argmax).
   */
  selectMargin?: Record<string, number>;
  trainedOn: { prompts: number; candidates: number; source?: string };
  /** Out-of-fold ROC AUC of the reward for correctness, per task (filled in by the trainer's caller). */
  oofAuc?: Record<string, number>;
  /** Per-task cascades learned from recorded costs (arbiter train-reward), when the data has costs. */
  cascade?: CascadeModel;
}

const ANY = '*';

/** A model's reliability on a task: the task's figure, else the overall one, else `fallback`. */
export function reliabilityOf(
  table: RewardModelFile['reliability'],
  task: string | undefined,
  fallback?: (m: string) => number | undefined,
) {
  return (m: string): number => table[task ?? ANY]?.[m] ?? fallback?.(m) ?? table[ANY]?.[m] ?? 0.5;
}

/** The chosen index: the best-scored candidate if it beats candidate `top` by more than `margin`, else `top`. */
export function selectIndex(scores: ArrayLike<number>, top: number, margin: number): number {
  let b = 0;
  for (let j = 1; j < scores.length; j++) if (scores[j]! > scores[b]!) b = j;
  return scores[b]! - scores[top]! > margin ? b : top;
}

/** The head a task is scored by (its own, else the overall one). */
export function headFor(file: RewardModelFile, task: string | undefined): RewardHead {
  const h = file.heads[task ?? ANY] ?? file.heads[ANY]!;
  const F = file.features.length;
  return {
    features: file.features,
    layer: { in: F, out: 1, weight: Float32Array.from(h.weight), bias: Float32Array.of(h.bias), activation: 'sigmoid' },
  };
}
