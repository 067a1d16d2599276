/**
 * Comparing from recorded data: a recorded-outcome dataset's models compared on its prompts without
 * calling any — each record's per-model outcome is the quality and its recorded cost the cost (no
 * latencies: the performance weight drops out). RouterBench: the test split.
 */
import { loadRouterBench, type OutcomeRecord } from '../eval/index.js';
import type { CallResult, CompareCase } from './types.js';

export function replayRecords(
  records: readonly OutcomeRecord[],
  models?: readonly string[],
): { cases: CompareCase[]; models: string[]; results: CallResult[] } {
  const ms = models?.length ? [...models] : [...new Set(records.flatMap((r) => Object.keys(r.outcomes)))].sort();
  const cases: CompareCase[] = records.map((r, i) => ({
    id: `${i + 1}`,
    prompt: r.prompt,
    ...(r.task ? { task: r.task } : {}),
  }));
  const results: CallResult[] = [];
  records.forEach((r, i) => {
    for (const m of ms) {
      const q = r.outcomes[m];
      if (q === undefined) continue;
      results.push({
        case: cases[i]!.id,
        model: m,
        status: 'ok',
        latencyMs: 0,
        cost: r.costs[m] ?? 0,
        promptTokens: 0,
        completionTokens: 0,
        scores: { recorded: q },
        quality: q,
      });
    }
  });
  return { cases, models: ms, results };
}

export async function replayRouterBench(data: string, models?: readonly string[]) {
  return replayRecords(await loadRouterBench(data, 'test'), models);
}
