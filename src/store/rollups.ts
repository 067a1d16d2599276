/**
 * The hourly rollups per model × task × key that the stats read: a batch's sums of newly stored
 * requests, added to the rows (inserted when new) in key order so that writers sharing one
 * PostgreSQL store lock them in the same order and never deadlock.
 */
import type { Kysely } from 'kysely';

import type { Database, RequestsTable, RollupSlicesTable, RollupsTable } from './schema.js';

const HOUR = 3_600_000;
export const hourOf = (ts: number) => Math.floor(ts / HOUR) * HOUR;
type RollupKey = Pick<RollupsTable, 'hour' | 'model' | 'task' | 'key_id'>;
export const rollupKey = (r: { ts: number; model: string; task: string | null; key_id: string | null }): RollupKey => ({
  hour: hourOf(r.ts),
  model: r.model,
  task: r.task ?? '*',
  key_id: r.key_id ?? '',
});
export const ZERO_SUMS = {
  requests: 0,
  errors: 0,
  cost: 0,
  latency_sum: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  rated: 0,
  score_sum: 0,
  score_sq: 0,
};

/**
 * The mean rating with its 95% interval (normal approximation, clamped to 0..1) from a rollup's
 * count, sum and sum of squares; one rating gives the whole 0..1 range; none, null.
 */
export function ratedInterval(n: number, sum: number, sq: number): { mean: number; low: number; high: number } | null {
  if (n <= 0) return null;
  const mean = sum / n;
  if (n === 1) return { mean, low: 0, high: 1 };
  const variance = Math.max(0, sq / n - mean * mean) * (n / (n - 1));
  const half = 1.96 * Math.sqrt(variance / n);
  return { mean, low: Math.max(0, mean - half), high: Math.min(1, mean + half) };
}

/** Adds one stored request to the batch's rollup sums. */
export function addRequest(sums: Map<string, RollupsTable>, q: RequestsTable): void {
  const k = rollupKey({ ts: q.ts, model: q.model!, task: q.task, key_id: q.key_id });
  const id = `${k.hour}\u0000${k.model}\u0000${k.task}\u0000${k.key_id}`;
  const r = sums.get(id) ?? { ...k, ...ZERO_SUMS };
  r.requests++;
  r.errors += q.status === 'error' ? 1 : 0;
  r.cost += q.cost;
  r.latency_sum += q.latency_ms;
  r.prompt_tokens += q.prompt_tokens;
  r.completion_tokens += q.completion_tokens;
  sums.set(id, r);
}

const byRollupKey = (a: RollupsTable, b: RollupsTable) =>
  a.hour - b.hour ||
  (a.model < b.model ? -1 : a.model > b.model ? 1 : 0) ||
  (a.task < b.task ? -1 : a.task > b.task ? 1 : 0) ||
  (a.key_id < b.key_id ? -1 : a.key_id > b.key_id ? 1 : 0);

/**
 * Adds to rollup rows (inserted at these values when new), in key order: gateways sharing one
 * PostgreSQL store then lock rollup rows in the same order, so two batches never deadlock.
 */
export async function addToRollups(db: Kysely<Database>, unsorted: RollupsTable[]): Promise<void> {
  const rows = unsorted.sort(byRollupKey);
  await addToSlices(db, rows);
  for (let i = 0; i < rows.length; i += 500)
    await db
      .insertInto('rollups')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) =>
        oc.columns(['hour', 'model', 'task', 'key_id']).doUpdateSet((eb) => ({
          requests: eb('rollups.requests', '+', eb.ref('excluded.requests')),
          errors: eb('rollups.errors', '+', eb.ref('excluded.errors')),
          cost: eb('rollups.cost', '+', eb.ref('excluded.cost')),
          latency_sum: eb('rollups.latency_sum', '+', eb.ref('excluded.latency_sum')),
          prompt_tokens: eb('rollups.prompt_tokens', '+', eb.ref('excluded.prompt_tokens')),
          completion_tokens: eb('rollups.completion_tokens', '+', eb.ref('excluded.completion_tokens')),
          rated: eb('rollups.rated', '+', eb.ref('excluded.rated')),
          score_sum: eb('rollups.score_sum', '+', eb.ref('excluded.score_sum')),
          score_sq: eb('rollups.score_sq', '+', eb.ref('excluded.score_sq')),
        })),
      )
      .execute();
}

const SUMS = [
  'requests',
  'errors',
  'cost',
  'latency_sum',
  'prompt_tokens',
  'completion_tokens',
  'rated',
  'score_sum',
  'score_sq',
] as const;

const DAY = 86_400_000;
export const dayOf = (ts: number) => Math.floor(ts / DAY) * DAY;

/**
 * The rollup rows' sums per model, per model × task and per key (the dashboard's slices), in key
 * order; per model × task and per key also by UTC day (`task@day`, `key@day`: `hour` the day's
 * start), so a long window reads days and only its edges by the hour.
 */
export function slicesOf(rows: readonly RollupsTable[]): RollupSlicesTable[] {
  const by = new Map<string, RollupSlicesTable>();
  for (const r of rows)
    for (const [slice, hour, model, value] of [
      ['model', r.hour, r.model, ''],
      ['task', r.hour, r.model, r.task],
      ['key', r.hour, '', r.key_id],
      ['task@day', dayOf(r.hour), r.model, r.task],
      ['key@day', dayOf(r.hour), '', r.key_id],
    ] as const) {
      const id = `${hour}\u0000${slice}\u0000${model}\u0000${value}`;
      let t = by.get(id);
      if (!t) by.set(id, (t = { hour, slice, model, value, ...ZERO_SUMS }));
      for (const k of SUMS) t[k] += r[k];
    }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...by.values()].sort(
    (a, b) => a.hour - b.hour || cmp(a.slice, b.slice) || cmp(a.model, b.model) || cmp(a.value, b.value),
  );
}

async function addToSlices(db: Kysely<Database>, rollups: readonly RollupsTable[]): Promise<void> {
  const rows = slicesOf(rollups);
  for (let i = 0; i < rows.length; i += 500)
    await db
      .insertInto('rollup_slices')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) =>
        oc
          .columns(['hour', 'slice', 'model', 'value'])
          .doUpdateSet((eb) =>
            Object.fromEntries(SUMS.map((k) => [k, eb(`rollup_slices.${k}`, '+', eb.ref(`excluded.${k}`))])),
          ),
      )
      .execute();
}
