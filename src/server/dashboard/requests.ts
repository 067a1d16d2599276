/** Stored requests as the dashboard shows them: a list row, and a request's page. */
import type { RequestListRow, SqlStore } from '../../store/index.js';
import type { AlternativeView, RequestDetail, RequestRow } from './types.js';

export function requestRow(r: RequestListRow): RequestRow {
  return {
    id: r.id,
    ts: Number(r.ts),
    kind: r.kind,
    task: r.task,
    model: r.model,
    decisionModel: r.decision_model,
    strategy: r.strategy,
    status: r.status,
    code: r.code,
    latencyMs: Number(r.latency_ms),
    cost: Number(r.cost),
    keyId: r.key_id,
    fallbacks: r.fallbacks ? r.fallbacks.split(',') : [],
  };
}

interface StoredDecision {
  reason?: string;
  confidence?: number | null;
  taskConfidence?: number | null;
  predictedLatencyMs?: number | null;
  alternatives?: AlternativeView[];
}

/** A stored decision's JSON (a row written before migration 6, or unreadable, reads as empty). */
function parseDecision(text: string | null | undefined): StoredDecision {
  if (!text) return {};
  try {
    const d = JSON.parse(text) as unknown;
    return d && typeof d === 'object' ? (d as StoredDecision) : {};
  } catch {
    return {};
  }
}

/** A request's page: its decision (reason, alternatives), predicted against actual, its calls and feedback. */
export async function requestDetail(store: Pick<SqlStore, 'request'>, id: string): Promise<RequestDetail | undefined> {
  const r = await store.request(id);
  if (!r) return undefined;
  const d = parseDecision(r.decision);
  const scores = r.feedback.map((f) => Number(f.score));
  return {
    ...requestRow(r),
    decision: {
      model: r.decision_model,
      reason: d.reason ?? null,
      confidence: d.confidence ?? null,
      taskConfidence: d.taskConfidence ?? null,
      alternatives: d.alternatives ?? [],
    },
    predicted: {
      quality: r.predicted_quality === null ? null : Number(r.predicted_quality),
      cost: r.predicted_cost === null ? null : Number(r.predicted_cost),
      latencyMs: d.predictedLatencyMs ?? null,
    },
    actual: {
      quality: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
      cost: Number(r.cost),
      latencyMs: Number(r.latency_ms),
    },
    calls: r.calls.map((c) => ({
      attempt: Number(c.attempt),
      model: c.model,
      status: c.status,
      code: c.code,
      latencyMs: Number(c.latency_ms),
      ttftMs: c.ttft_ms === null ? null : Number(c.ttft_ms),
      promptTokens: Number(c.prompt_tokens),
      completionTokens: Number(c.completion_tokens),
      cost: Number(c.cost),
      estimated: Number(c.estimated) === 1,
      phase: c.phase ?? null,
    })),
    feedback: r.feedback.map((f) => ({ source: f.source, score: Number(f.score), comment: f.comment, ts: f.ts })),
    experiment: r.experiment && r.arm ? { id: r.experiment, arm: r.arm } : null,
    ...('prompt' in r ? { prompt: r.prompt, answer: r.answer ?? null } : {}),
  };
}
