/** An outcome event as the rows the store keeps (compact: no prices, no config, text only when asked). */
import type { DecisionSummary, OutcomeEvent } from './events.js';
import { hashText, type PromptPolicy, type StoredRecord } from './sql-store.js';

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const sig = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)) : null);

/** What the request's page shows of its decision, compact (numbers to 4 significant digits). */
function decisionJson(d: DecisionSummary): string {
  return JSON.stringify({
    reason: d.reason,
    ...(d.confidence !== undefined ? { confidence: sig(d.confidence) } : {}),
    ...(d.taskConfidence !== undefined ? { taskConfidence: sig(d.taskConfidence) } : {}),
    ...(d.predictedLatencyMs !== undefined ? { predictedLatencyMs: sig(d.predictedLatencyMs) } : {}),
    ...(d.alternatives
      ? {
          alternatives: d.alternatives.map((a) => ({
            model: a.model,
            quality: sig(a.quality),
            cost: sig(a.cost),
            latencyMs: sig(a.latencyMs),
            score: sig(a.score),
            eligible: a.eligible,
            ...(a.excluded ? { excluded: a.excluded } : {}),
          })),
        }
      : {}),
  });
}

export function toStored(e: OutcomeEvent, prompts: PromptPolicy): StoredRecord {
  return {
    request: {
      id: e.id,
      ts: e.time,
      kind: e.kind,
      key_id: e.keyId ?? null,
      task: e.decision?.task ?? null,
      model: e.model ?? null,
      decision_model: e.decision?.model ?? null,
      strategy: e.decision?.strategy ?? null,
      predicted_quality: e.decision?.predictedQuality ?? null,
      predicted_cost: e.decision?.predictedCost ?? null,
      decode_strategy: e.strategy ?? null,
      status: e.status,
      code: e.code ?? null,
      latency_ms: round(e.latencyMs),
      cost: e.cost,
      prompt_tokens: e.promptTokens,
      completion_tokens: e.completionTokens,
      calls: e.calls.length,
      fallbacks: e.fallbacks.length ? e.fallbacks.join(',') : null,
      prompt_hash: prompts !== 'none' && e.prompt !== undefined ? hashText(e.prompt) : null,
      experiment: e.experiment?.id ?? null,
      arm: e.experiment?.arm ?? null,
      decision: e.decision ? decisionJson(e.decision) : null,
    },
    calls: e.calls.map((c) => ({
      request_id: e.id,
      attempt: c.attempt,
      model: c.model,
      status: c.status,
      code: c.code ?? null,
      latency_ms: round(c.latencyMs),
      ttft_ms: c.ttftMs === undefined ? null : round(c.ttftMs),
      prompt_tokens: c.promptTokens,
      completion_tokens: c.completionTokens,
      cost: c.cost,
      estimated: c.estimated ? 1 : 0,
      phase: c.phase ?? null,
    })),
    ...(prompts === 'full' && e.prompt !== undefined
      ? { text: { request_id: e.id, prompt: e.prompt, answer: e.answer ?? null } }
      : {}),
  };
}
