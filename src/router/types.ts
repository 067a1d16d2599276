import type { PromptAnalysis } from '../analyze/index.js';
import type { Strategy } from '../config/index.js';

/** What the router needs from a kNN vote (the manifold's Vote has this shape). */
export interface NeighbourVote {
  task: { distribution: Record<string, number> };
  quality: Record<string, { mean: number; stderr: number; nEff: number }>;
}

/** Observed mean cost (USD) per call, by model then task ('*' = over all tasks), from training data. */
export type CostTable = Record<string, Record<string, number>>;

/** Route options: their one schema (and these docs) live in config/requests.ts. */
export type { RouteOptions } from '../config/index.js';

export interface Prediction {
  model: string;
  quality: number;
  /** Standard error of the quality prediction. */
  qualityStderr: number;
  /** How the quality was predicted. */
  qualitySource: 'manifold' | 'prior' | 'manifold+prior' | 'learned';
  inputTokens: number;
  outputTokens: number;
  cost: number;
  latencyMs: number;
}

export interface Candidate extends Prediction {
  /** Strategy score (higher is better), comparable within one decision. */
  score: number;
  eligible: boolean;
  /** Why an ineligible model was excluded. */
  excluded?: string;
  /** True when its concurrency cap is reached right now. */
  saturated: boolean;
}

export interface Decision {
  model: string;
  strategy: Strategy | 'quality-target';
  predicted: { quality: number; qualityStderr: number; cost: number; latencyMs: number };
  /** 0..1: how clearly the choice beats the runner-up, discounted by prediction uncertainty. */
  confidence: number;
  /** Every model, best first, with its predictions and score (ineligible ones last, with the reason). */
  alternatives: Candidate[];
  /** Ordered models to try if the choice fails (eligible, excluding the choice). */
  fallbacks: string[];
  task: {
    label: string;
    confidence: number;
    distribution: Record<string, number>;
    /** 'ood': unlike the trained router's training prompts — label `general`, confidence the test's p-value. */
    source: 'keywords' | 'manifold+keywords' | 'head' | 'head+manifold' | 'ood';
  };
  analysis: PromptAnalysis;
  /** One line a person can read. */
  reason: string;
}
