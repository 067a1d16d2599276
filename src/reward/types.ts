/**
 * The reward contract. An outcome reward scores whole candidate responses to one prompt; a process
 * reward scores the steps of one partial solution. Scores are in [0, 1] (higher is better; for the
 * learned rewards, an estimate of P(right)).
 */
import type { AnswerKind } from './verify.js';

export interface ResponseCandidate {
  /** The model that wrote it (rewards may use the model's learned reliability). */
  model: string;
  content: string;
}

export interface ScoreContext {
  /** The prompt's task (from the router's analysis), when known. */
  task?: string;
  /** How final answers are compared; by default from the task and the prompt. */
  answerKind?: AnswerKind | 'text';
  /** P(right) of a model on this prompt when the reward has no figure of its own (e.g. the router's prediction). */
  reliability?: (model: string) => number | undefined;
  /** Told what scoring itself cost (an LLM judge): dollars and tokens. */
  onCost?: (cost: number, tokens: number) => void;
  signal?: AbortSignal;
}

export type RewardKind = 'head' | 'onnx' | 'verifier' | 'judge';

export interface OutcomeReward {
  readonly kind: RewardKind;
  readonly name: string;
  /** One score per candidate, in order. */
  score(prompt: string, candidates: readonly ResponseCandidate[], ctx?: ScoreContext): Promise<Float32Array>;
  /** Optional: which candidate a selection takes given their scores (default: the highest score). */
  pick?(candidates: readonly ResponseCandidate[], scores: ArrayLike<number>, ctx?: ScoreContext): number;
}

export interface ProcessReward {
  readonly kind: RewardKind;
  readonly name: string;
  /** One score per step: how likely the solution is still on track after it. */
  scoreSteps(prompt: string, steps: readonly string[], ctx?: ScoreContext): Promise<number[]>;
}
