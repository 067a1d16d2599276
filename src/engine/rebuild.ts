/**
 * Profiles and drift rebuilt from the store (on start and reload): the last day of calls into the
 * latency, token and cost profiles, the last week of ratings into the rated profiles and — where
 * the rated answer came from the router's pick — the drift corrections, in the order they came.
 */
import type { Router } from '../router/index.js';
import type { CallRecord, OutcomeStore, Profiles } from '../store/index.js';

export async function rebuildProfiles(
  store: OutcomeStore,
  router: Router,
  profiles: Profiles,
  observe: (e: { calls: CallRecord[]; decision?: { task: string } }) => void,
  now = Date.now(),
): Promise<void> {
  for (const c of await store.sql.recentCalls(now - 86_400_000))
    observe({
      calls: [
        {
          model: c.model,
          attempt: 1,
          status: c.status === 'ok' ? 'ok' : 'error',
          latencyMs: Number(c.latency_ms),
          ...(c.ttft_ms !== null ? { ttftMs: Number(c.ttft_ms) } : {}),
          promptTokens: 0,
          completionTokens: Number(c.completion_tokens),
          cost: Number(c.cost),
          ...(c.estimated ? { estimated: true } : {}),
        },
      ],
      ...(c.task ? { decision: { task: c.task } } : {}),
    });
  router.drift.clear();
  for (const r of await store.sql.recentRatings(now - 7 * 86_400_000)) {
    profiles.rate(r.model!, r.task ?? undefined, Number(r.score));
    if (r.task && r.model === r.decision_model && r.predicted_quality !== null && router.registry.has(r.model!))
      router.drift.observe(r.model!, r.task, Number(r.score), Number(r.predicted_quality));
  }
}
