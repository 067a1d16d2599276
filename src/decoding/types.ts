/** What every decoding strategy takes and gives: one call's generation, the limits, the result. */
import type { ChatCompletion, ChatRequest } from '../providers/index.js';
import type { VoteResult } from '../reward/index.js';

export interface Generation {
  model: string;
  content: string;
  finishReason: string | null;
  /**
   * What stopped it, where the server says (vLLM's `stop_reason`: the stop string matched, or
   * null / a token id at the end of the text); undefined when the server does not say.
   */
  stopReason?: string | number | null;
  /** Dollars this call cost. */
  cost: number;
  tokens: number;
  /** Its prompt and completion tokens, where known (the response's usage). */
  promptTokens?: number;
  completionTokens?: number;
  /** The provider's response (returned to API clients). */
  response?: ChatCompletion;
}

/** One call to one model; must honour the signal. */
export type Generate = (model: string, req: ChatRequest, signal: AbortSignal) => Promise<Generation>;

export interface DecodeLimits {
  /** Dollars for the whole request (model calls and judging). */
  budget?: number;
  /** Milliseconds from the start. */
  deadlineMs?: number;
  /** Calls in flight at once (default: as many as the strategy wants). */
  concurrency?: number;
  signal?: AbortSignal;
  /** A call's cost before it is made (default 0: only finished calls count against the budget). */
  estimateCost?: (model: string, req: ChatRequest) => number;
}

export interface ScoredCandidate {
  model: string;
  content: string;
  score: number;
  answer: string | null;
  cost: number;
  finishReason: string | null;
}

export type StopReason = 'complete' | 'settled' | 'accepted' | 'budget' | 'deadline';

export interface DecodeResult {
  strategy: 'best_of_n' | 'weighted_best_of_n' | 'vote' | 'cascade' | 'guided';
  /** Index of the chosen candidate. */
  chosen: number;
  model: string;
  content: string;
  candidates: ScoredCandidate[];
  calls: number;
  /** Dollars: every model call plus reward costs. */
  cost: number;
  tokens: number;
  /** OpenAI-style usage summed over every model call (what the request consumed). */
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  stop: StopReason;
  /** The chosen candidate's provider response, when there is one. */
  response?: ChatCompletion;
  /** Guided search: the chosen solution's steps and their process rewards. */
  steps?: Array<{ text: string; score: number }>;
  /** Cascade: the stage that answered (0-based). */
  stage?: number;
  tally?: VoteResult['tally'];
  /** Calls that failed (after their model's own retries), with the error code. */
  failures: Array<{ model: string; code: string }>;
}
