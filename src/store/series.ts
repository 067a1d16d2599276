/**
 * The dashboard's rollups beside the stats' (rollups.ts): hourly latency histograms per model
 * (DDSketch's logarithmic key mapping at 2% relative accuracy, so a window's percentiles are read
 * from summed bucket counts) and hourly event counts per model (selections, fallbacks, errors by
 * code). Added in the transaction that stores the requests they count, in key order (two writers
 * sharing one PostgreSQL store lock rows in the same order and never deadlock).
 */
import { DDSketch } from '@datadog/sketches-js';
import type { Kysely } from 'kysely';

import { hourOf } from './rollups.js';
import type { CallsTable, Database, RequestsTable, RollupEventsTable, RollupLatencyTable } from './schema.js';

/** The relative accuracy of stored latency percentiles. */
export const LATENCY_ACCURACY = 0.02;
const mapping = new DDSketch({ relativeAccuracy: LATENCY_ACCURACY }).mapping;
/** A latency's bucket (milliseconds; below 0.01 ms counts as 0.01 ms). */
export const latencyBucket = (ms: number) => mapping.key(Math.max(ms, 0.01));

/** A batch's sums: latency buckets and event counts, keyed by their primary key. */
export class SeriesSums {
  readonly latency = new Map<string, RollupLatencyTable>();
  readonly events = new Map<string, RollupEventsTable>();

  private bump(hour: number, model: string, metric: string, bucket: number): void {
    const id = `${hour}\u0000${model}\u0000${metric}\u0000${bucket}`;
    const r = this.latency.get(id);
    if (r) r.n++;
    else this.latency.set(id, { hour, model, metric, bucket, n: 1 });
  }

  private count(hour: number, model: string, event: string): void {
    const id = `${hour}\u0000${model}\u0000${event}`;
    const r = this.events.get(id);
    if (r) r.n++;
    else this.events.set(id, { hour, model, event, n: 1 });
  }

  /** Adds one newly stored request and its calls (in attempt order). */
  add(
    q: Pick<RequestsTable, 'ts' | 'model' | 'decision_model' | 'status' | 'code' | 'fallbacks'>,
    calls: ReadonlyArray<Pick<CallsTable, 'model' | 'status' | 'latency_ms' | 'ttft_ms'>>,
  ): void {
    const hour = hourOf(Number(q.ts));
    if (q.decision_model) this.count(hour, q.decision_model, 'selected');
    if (q.fallbacks) for (const m of q.fallbacks.split(',')) if (m) this.count(hour, m, 'fallback');
    // a failure is the model's it failed on: the one that began to answer, else the last one called
    if (q.status === 'error')
      this.count(hour, q.model ?? calls.at(-1)?.model ?? q.decision_model ?? '', `error:${q.code ?? 'unknown'}`);
    for (const c of calls) {
      if (c.status !== 'ok') continue;
      this.bump(hour, c.model, 'latency', latencyBucket(Number(c.latency_ms)));
      if (c.ttft_ms !== null) this.bump(hour, c.model, 'ttft', latencyBucket(Number(c.ttft_ms)));
    }
  }

  get size(): number {
    return this.latency.size + this.events.size;
  }
}

const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

/** Adds a batch's sums to the stored rows (inserted when new), in key order. */
export async function addToSeries(db: Kysely<Database>, s: SeriesSums): Promise<void> {
  const lat = [...s.latency.values()].sort(
    (a, b) => a.hour - b.hour || cmp(a.model, b.model) || cmp(a.metric, b.metric) || a.bucket - b.bucket,
  );
  for (let i = 0; i < lat.length; i += 1000)
    await db
      .insertInto('rollup_latency')
      .values(lat.slice(i, i + 1000))
      .onConflict((oc) =>
        oc
          .columns(['hour', 'model', 'metric', 'bucket'])
          .doUpdateSet((eb) => ({ n: eb('rollup_latency.n', '+', eb.ref('excluded.n')) })),
      )
      .execute();
  const ev = [...s.events.values()].sort((a, b) => a.hour - b.hour || cmp(a.model, b.model) || cmp(a.event, b.event));
  for (let i = 0; i < ev.length; i += 1000)
    await db
      .insertInto('rollup_events')
      .values(ev.slice(i, i + 1000))
      .onConflict((oc) =>
        oc
          .columns(['hour', 'model', 'event'])
          .doUpdateSet((eb) => ({ n: eb('rollup_events.n', '+', eb.ref('excluded.n')) })),
      )
      .execute();
}

/** Percentiles (0..1) of summed bucket counts, each within LATENCY_ACCURACY of the true value. */
export function bucketQuantiles(
  buckets: ReadonlyArray<{ bucket: number; n: number }>,
  qs: readonly number[],
): number[] {
  const sketch = new DDSketch({ relativeAccuracy: LATENCY_ACCURACY });
  for (const b of buckets) if (b.n > 0) sketch.accept(sketch.mapping.value(b.bucket), b.n);
  return qs.map((q) => (sketch.count ? sketch.getValueAtQuantile(q) : NaN));
}

/** Backfills the series from what is already stored (migration 6), a page of requests at a time. */
export async function backfillSeries(db: Kysely<Database>, pageSize = 5000): Promise<void> {
  let afterTs = -1;
  let afterId = '';
  for (;;) {
    const page = await db
      .selectFrom('requests')
      .select(['id', 'ts', 'model', 'decision_model', 'status', 'code', 'fallbacks'])
      .where((eb) => eb.or([eb('ts', '>', afterTs), eb.and([eb('ts', '=', afterTs), eb('id', '>', afterId)])]))
      .orderBy('ts')
      .orderBy('id')
      .limit(pageSize)
      .execute();
    if (!page.length) return;
    const calls = await db
      .selectFrom('calls')
      .select(['request_id', 'model', 'status', 'latency_ms', 'ttft_ms'])
      .where(
        'request_id',
        'in',
        page.map((r) => r.id),
      )
      .execute();
    const byRequest = new Map<string, typeof calls>();
    for (const c of calls) byRequest.set(c.request_id, [...(byRequest.get(c.request_id) ?? []), c]);
    const sums = new SeriesSums();
    for (const q of page) sums.add(q, byRequest.get(q.id) ?? []);
    await addToSeries(db, sums);
    afterTs = Number(page.at(-1)!.ts);
    afterId = page.at(-1)!.id;
  }
}
