/**
 * Outcome events: what the engine emits once per request it executes (complete, stream, decode)
 * and the store records — what was decided, every upstream call (model, attempt, status or error
 * code, latency, time to first token, tokens, cost from usage × price), the fallbacks and the
 * final status. Defined here, below the engine, so the store can take them as they are.
 */
import type { ErrorCode } from '../errors.js';

/**
 * `route`: a decision only (POST /v1/route) — the client calls the model itself and may rate it by
 * id; `score`: automatic scoring's own calls (an LLM judge's), so what scoring costs is recorded.
 */
export type RequestKind = 'complete' | 'stream' | 'decode' | 'route' | 'score' | 'pipeline';

export interface CallRecord {
  model: string;
  /** 1 for the first call of the request, 2 for the next, … */
  attempt: number;
  status: 'ok' | 'error';
  code?: ErrorCode | 'unknown';
  latencyMs: number;
  /** Streams: until the first chunk. */
  ttftMs?: number;
  promptTokens: number;
  completionTokens: number;
  /** Dollars, from usage × the model's price (estimated from lengths when usage is missing). */
  cost: number;
  /** True when tokens were estimated rather than reported by the upstream. */
  estimated?: boolean;
  /** Pipelines: the phase the call ran for (`<name>` or `<name>#<pass>` on a loop's later passes). */
  phase?: string;
}

export interface DecisionSummary {
  model: string;
  task: string;
  strategy: string;
  reason: string;
  predictedQuality?: number;
  predictedCost?: number;
  /** The router's estimate of the prompt's tokens (profiles compare it with what upstreams count). */
  inputTokens?: number;
  /** How clearly the choice beat the runner-up (0..1), and how sure the task is. */
  confidence?: number;
  taskConfidence?: number;
  predictedLatencyMs?: number;
  /** The leading candidates, best first (the dashboard shows them beside what happened). */
  alternatives?: AlternativeSummary[];
}

export interface AlternativeSummary {
  model: string;
  quality: number;
  cost: number;
  latencyMs: number;
  score: number;
  eligible: boolean;
  excluded?: string;
}

export interface OutcomeEvent {
  id: string;
  /** Start, epoch milliseconds. */
  time: number;
  kind: RequestKind;
  /** Decoding: the strategy that ran. */
  strategy?: string;
  decision?: DecisionSummary;
  calls: CallRecord[];
  /** Models given up on before another answered (or all failed), in order. */
  fallbacks: string[];
  /** The model that answered (or began to, for a stream that broke). */
  model?: string;
  status: 'ok' | 'error';
  code?: ErrorCode | 'unknown';
  latencyMs: number;
  cost: number;
  promptTokens: number;
  completionTokens: number;
  /** The API key's id (a hash prefix), when the request came with one. */
  keyId?: string;
  /** The experiment arm the request was assigned to. */
  experiment?: { id: string; arm: string };
  /** The prompt (its last user message) and the answer's text, for the store to keep as configured. */
  prompt?: string;
  answer?: string;
}

export type OutcomeListener = (e: OutcomeEvent) => void;
