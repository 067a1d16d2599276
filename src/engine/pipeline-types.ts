/** What a pipeline run reports: each phase's result, the run's totals, its events and options. */
import type { OutcomeReward, ScoreContext } from '../reward/index.js';
import type { CompletionStream, ExecContext } from './complete.js';

export interface PhaseResult {
  name: string;
  /** 1, then 2, 3 … on a loop's later passes. */
  pass: number;
  status: 'ok' | 'failed' | 'skipped';
  /** Why it was skipped, or the error. */
  reason?: string;
  code?: string;
  model?: string;
  fallbacks: string[];
  promptTokens: number;
  completionTokens: number;
  cost: number;
  latencyMs: number;
  /** When it started, ms after the run did. */
  startMs?: number;
  output?: string;
  cached?: boolean;
  /** A reward phase: the best candidate's score, and whether it passed. */
  score?: number;
  verdict?: 'pass' | 'fail';
}

export interface PipelineRun {
  id: string;
  pipeline: string;
  status: 'ok' | 'failed';
  /** The output phase's text ('' when the run failed before it). */
  output: string;
  outputPhase: string;
  /** The model that wrote the output. */
  model?: string;
  phases: PhaseResult[];
  phasesRun: number;
  phasesSucceeded: number;
  promptTokens: number;
  completionTokens: number;
  cost: number;
  timeMs: number;
  error?: { code: string; message: string };
}

/** What a run reports as it goes: phases starting and ending (tests read the order from these). */
export type PhaseEvent = { type: 'start' | 'end'; phase: string; pass: number; result?: PhaseResult };

export interface PipelineContext extends ExecContext {
  /** Rewards a reward phase may name (the engine's outcome rewards). */
  rewards?: ReadonlyMap<string, OutcomeReward>;
  /** What reward phases score with: the task, how answers compare, reliabilities. */
  scoreContext?: ScoreContext;
  /** Phase outputs by cache key (bounded by the owner). */
  cache: Map<string, { output: string; model: string }>;
}

export interface RunOptions {
  signal?: AbortSignal;
  onPhase?: (e: PhaseEvent) => void;
  /**
   * Streams the output phase: it is called with the phase's stream once it opens, and the run
   * ends when that stream does. Only for an output phase that nothing depends on and no loop
   * repeats; others run as JSON (the caller sends their text when the run ends).
   */
  stream?: (s: CompletionStream) => void;
}
