/** The comparison bench's shapes: what is compared, what each call gave, and the analysis. */
import type { Assertion } from './assertions.js';

/** One prompt of a comparison (a line of the prompts JSONL). */
export interface CompareCase {
  id: string;
  prompt: string;
  task?: string;
  /** A reference answer: scored by the verifier against the answer's extracted final answer. */
  reference?: string;
  assert?: Assertion[];
}

/** What one model gave on one prompt, scored. */
export interface CallResult {
  case: string;
  model: string;
  status: 'ok' | 'error';
  code?: string;
  /** The answer (kept on disk; dropped from memory once scored). */
  output?: string;
  latencyMs: number;
  cost: number;
  promptTokens: number;
  completionTokens: number;
  /** Component scores in [0, 1]: assertions, reference, reward. */
  scores: Record<string, number>;
  /** The weighted quality in [0, 1] (0 for a failed call). */
  quality: number;
  /** The extracted final answer, where there is one (consensus). */
  answer?: string | null;
  /** Served from an earlier run's results (resume). */
  cached?: boolean;
}

/** A judge's pairwise verdict on one prompt, asked in both orders ('tie': a tie or a split verdict). */
export interface Judgment {
  case: string;
  a: string;
  b: string;
  winner: 'a' | 'b' | 'tie';
}

/** Weights of the overall score (validated: non-negative, sum > 0). */
export interface ScoreWeights {
  quality: number;
  performance: number;
  cost: number;
}

export interface ModelSummary {
  model: string;
  calls: number;
  errors: number;
  errorRate: number;
  quality: { mean: number; low: number; high: number };
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  /** Dollars per 1,000 requests. */
  costPer1k: number;
  tokens: number;
  /** quality·w_q + performance·w_p + cost-efficiency·w_c (performance and cost relative to the best). */
  overall: number;
  /** Bradley–Terry log-strength with its bootstrap 95% interval. */
  strength: { value: number; low: number; high: number };
}

export interface PairResult {
  a: string;
  b: string;
  /** Prompts both answered, and how they split. */
  n: number;
  winsA: number;
  winsB: number;
  ties: number;
  /** A's win rate (ties half) with its Wilson 95% interval. */
  winRate: number;
  low: number;
  high: number;
  /** mcnemar / wilcoxon: on the scores; judge: the sign test on the judge's pairwise verdicts. */
  test: 'mcnemar' | 'wilcoxon' | 'judge';
  p: number;
  pAdjusted: number;
  significant: boolean;
}

export interface CompareReport {
  models: ModelSummary[];
  pairs: PairResult[];
  /** Per model × task, where the model differs significantly from the others on the same prompts. */
  strengths: Array<{ model: string; task: string; difference: number; p: number; kind: 'strength' | 'weakness' }>;
  consensus: { agree: number; split: number; examples: Array<{ case: string; qualities: Record<string, number> }> };
  recommendations: { overall: string; quality: string; speed: string | null; cost: string };
  /** Models no other beats on quality, cost per 1,000 and p95 latency all at once. */
  pareto: string[];
  weights: ScoreWeights;
  cases: number;
  alpha: number;
}
