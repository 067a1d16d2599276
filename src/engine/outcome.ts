/**
 * Outcome events: one per request the engine executes (complete, stream, decode), emitted when
 * it ends — what was decided, every upstream call (model, attempt, status or error code, latency,
 * time to first token, tokens, cost from usage × price), the fallbacks and the final status.
 * Subscribers (metrics, the outcome store) get them synchronously; a subscriber that throws is
 * reported on the `error` listener and never fails the request.
 */
import { randomUUID } from 'node:crypto';

import type { ErrorCode } from '../errors.js';
import { isArbiterError } from '../errors.js';
import type { Decision } from '../router/index.js';
import type { CallRecord, DecisionSummary, OutcomeEvent, OutcomeListener, RequestKind } from '../store/index.js';

export type { CallRecord, DecisionSummary, OutcomeEvent, OutcomeListener, RequestKind };

/** Collects one request's calls and emits its event once. */
export class OutcomeRecorder {
  readonly id: string;
  readonly time = Date.now();
  private readonly t0 = performance.now();
  private readonly calls: CallRecord[] = [];
  private readonly fallbacks: string[] = [];
  decision: DecisionSummary | undefined;
  strategy: string | undefined;
  /** The API key's id, the prompt and the answer's text (kept as the store is configured). */
  keyId: string | undefined;
  prompt: string | undefined;
  answer: string | undefined;
  /** The experiment arm the request runs in. */
  experiment: { id: string; arm: string } | undefined;
  private done = false;

  constructor(
    /** What ran (a request taken by a pipeline becomes `pipeline`). */
    public kind: RequestKind,
    private readonly emit: OutcomeListener,
    id?: string,
  ) {
    this.id = id ?? randomUUID();
  }

  get elapsedMs(): number {
    return performance.now() - this.t0;
  }

  call(c: Omit<CallRecord, 'attempt'>): void {
    this.calls.push({ ...c, attempt: this.calls.length + 1 });
  }

  fellBack(model: string): void {
    this.fallbacks.push(model);
  }

  /** Emits the event (once); `error` set means the request failed. */
  finish(result: { model?: string; error?: unknown }): OutcomeEvent | undefined {
    if (this.done) return undefined;
    this.done = true;
    const sum = (f: (c: CallRecord) => number) => this.calls.reduce((s, c) => s + f(c), 0);
    const e: OutcomeEvent = {
      id: this.id,
      time: this.time,
      kind: this.kind,
      ...(this.strategy ? { strategy: this.strategy } : {}),
      ...(this.decision ? { decision: this.decision } : {}),
      ...(this.keyId !== undefined ? { keyId: this.keyId } : {}),
      ...(this.prompt !== undefined ? { prompt: this.prompt } : {}),
      ...(this.answer !== undefined ? { answer: this.answer } : {}),
      ...(this.experiment ? { experiment: this.experiment } : {}),
      calls: this.calls,
      fallbacks: this.fallbacks,
      ...(result.model ? { model: result.model } : {}),
      status: result.error === undefined ? 'ok' : 'error',
      ...(result.error !== undefined ? { code: errorCode(result.error) } : {}),
      latencyMs: this.elapsedMs,
      cost: sum((c) => c.cost),
      promptTokens: sum((c) => c.promptTokens),
      completionTokens: sum((c) => c.completionTokens),
    };
    this.emit(e);
    return e;
  }
}

export function errorCode(e: unknown): ErrorCode | 'unknown' {
  return isArbiterError(e) ? e.code : 'unknown';
}

/** The alternatives an outcome keeps: the leading few (the request's page shows them). */
const KEPT_ALTERNATIVES = 5;

/** What an outcome keeps of a routing decision. */
export function summarize(d: Decision): DecisionSummary {
  return {
    model: d.model,
    task: d.task.label,
    strategy: d.strategy,
    reason: d.reason,
    predictedQuality: d.predicted.quality,
    predictedCost: d.predicted.cost,
    ...(d.alternatives[0] ? { inputTokens: d.alternatives[0].inputTokens } : {}),
    confidence: d.confidence,
    taskConfidence: d.task.confidence,
    predictedLatencyMs: d.predicted.latencyMs,
    alternatives: d.alternatives.slice(0, KEPT_ALTERNATIVES).map((a) => ({
      model: a.model,
      quality: a.quality,
      cost: a.cost,
      latencyMs: a.latencyMs,
      score: a.score,
      eligible: a.eligible,
      ...(a.excluded ? { excluded: a.excluded } : {}),
    })),
  };
}
