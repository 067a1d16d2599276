/**
 * The dashboard's rollups beside the stats' (rollups.ts): hourly latency histograms per model
 * (DDSketch's logarithmic key mapping at 2% relative accuracy, one row per hour × model × metric,
 * merged: a window's percentiles come from a few rows per hour) and hourly event counts per model
 * (selections, fallbacks, errors by code). Added in the transaction that stores the requests they
 * count, in key order (two writers sharing one PostgreSQL store lock rows in the same order and
 * never deadlock).
 */
import { DDSketch } from '@datadog/sketches-js';
import type { Kysely } from 'kysely';

import { hourOf } from './rollups.js';
import type { CallsTable, Database, RequestsTable, RollupEventsTable } from './schema.js';

/** The relative accuracy of stored latency percentiles. */
export const LATENCY_ACCURACY = 0.02;
const mapping = new DDSketch({ relativeAccuracy: LATENCY_ACCURACY }).mapping;
/** A latency's bucket (milliseconds; below 0.01 ms counts as 0.01 ms). */
export const latencyBucket = (ms: number) => mapping.key(Math.max(ms, 0.01));

/** Bucket counts as stored: `key:count,…` in key order. */
export function encodeBuckets(counts: ReadonlyMap<number, number>): string {
  return [...counts]
    .sort((a, b) => a[0] - b[0])
    .map(([k, n]) => `${k}:${n}`)
    .join(',');
}

/** Adds stored bucket counts into `into` (text that does not parse adds nothing). */
export function addBuckets(into: Map<number, number>, text: string): void {
  if (!text) return;
  for (const part of text.split(',')) {
    const i = part.indexOf(':');
    const k = Number(part.slice(0, i));
    const n = Number(part.slice(i + 1));
    if (Number.isInteger(k) && n > 0) into.set(k, (into.get(k) ?? 0) + n);
  }
}

/** A stored histogram row decoded: its bucket keys and counts, and its total. */
export interface DecodedBuckets {
  n: number;
  keys: Int32Array;
  counts: Float64Array;
}

export function decodeBuckets(text: string, n: number): DecodedBuckets {
  const m = new Map<number, number>();
  addBuckets(m, text);
  return { n, keys: Int32Array.from(m.keys()), counts: Float64Array.from(m.values()) };
}

/** Decoded rows kept between reads, at most `max` (the oldest dropped first). */
export class DecodedCache extends Map<string, DecodedBuckets> {
  constructor(private readonly max: number) {
    super();
  }

  trim(): void {
    for (const k of this.keys()) {
      if (this.size <= this.max) return;
      this.delete(k);
    }
  }
}

/** Percentiles of several histograms merged (dense over their key range), each within LATENCY_ACCURACY. */
export function mergedQuantiles(rows: readonly DecodedBuckets[], qs: readonly number[]): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows)
    for (const k of r.keys) {
      if (k < lo) lo = k;
      if (k > hi) hi = k;
    }
  if (lo > hi) return qs.map(() => NaN);
  const dense = new Float64Array(hi - lo + 1);
  for (const r of rows)
    for (let j = 0; j < r.keys.length; j++) {
      const i = r.keys[j]! - lo;
      dense[i] = dense[i]! + r.counts[j]!;
    }
  // DDSketch's rank rule: the first bucket whose cumulative count passes q·(n − 1)
  let total = 0;
  for (const c of dense) total += c;
  return qs.map((q) => {
    const rank = q * (total - 1);
    let seen = 0;
    for (let i = 0; i < dense.length; i++) {
      seen += dense[i]!;
      if (seen > rank) return mapping.value(i + lo);
    }
    return mapping.value(hi);
  });
}

interface Histogram {
  hour: number;
  model: string;
  metric: string;
  counts: Map<number, number>;
}

/** A batch's sums: latency histograms and event counts, keyed by their primary key. */
export class SeriesSums {
  readonly latency = new Map<string, Histogram>();
  readonly events = new Map<string, RollupEventsTable>();

  private bump(hour: number, model: string, metric: string, bucket: number): void {
    const id = `${hour}\u0000${model}\u0000${metric}`;
    let h = this.latency.get(id);
    if (!h) this.latency.set(id, (h = { hour, model, metric, counts: new Map() }));
    h.counts.set(bucket, (h.counts.get(bucket) ?? 0) + 1);
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

/**
 * Merges a batch's histograms into the stored rows: the missing rows inserted empty, every row
 * read (locked, on PostgreSQL, in key order), merged and written back — so two writers sharing a
 * store never lose each other's counts.
 */
async function addToHistograms(db: Kysely<Database>, s: SeriesSums, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const hs = [...s.latency.values()].sort(
    (a, b) => a.hour - b.hour || cmp(a.model, b.model) || cmp(a.metric, b.metric),
  );
  if (!hs.length) return;
  const key = (r: { hour: number; model: string; metric: string }) => `${r.hour}\u0000${r.model}\u0000${r.metric}`;
  for (let i = 0; i < hs.length; i += 500) {
    const part = hs.slice(i, i + 500);
    await db
      .insertInto('rollup_latency')
      .values(part.map((h) => ({ hour: h.hour, model: h.model, metric: h.metric, n: 0, buckets: '' })))
      .onConflict((oc) => oc.columns(['hour', 'model', 'metric']).doNothing())
      .execute();
    const stored = await db
      .selectFrom('rollup_latency')
      .selectAll()
      .where('hour', 'in', [...new Set(part.map((h) => h.hour))])
      .where('model', 'in', [...new Set(part.map((h) => h.model))])
      .orderBy('hour')
      .orderBy('model')
      .orderBy('metric')
      .$if(dialect === 'postgres', (q) => q.forUpdate())
      .execute();
    const old = new Map(stored.map((r) => [key({ ...r, hour: Number(r.hour) }), r]));
    const merged = part.map((h) => {
      const counts = new Map(h.counts);
      const was = old.get(key(h));
      if (was) addBuckets(counts, was.buckets);
      let n = 0;
      for (const c of counts.values()) n += c;
      return { hour: h.hour, model: h.model, metric: h.metric, n, buckets: encodeBuckets(counts) };
    });
    await db
      .insertInto('rollup_latency')
      .values(merged)
      .onConflict((oc) =>
        oc.columns(['hour', 'model', 'metric']).doUpdateSet((eb) => ({
          n: eb.ref('excluded.n'),
          buckets: eb.ref('excluded.buckets'),
        })),
      )
      .execute();
  }
}

/** Adds a batch's sums to the stored rows (inserted when new), in key order. */
export async function addToSeries(db: Kysely<Database>, s: SeriesSums, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await addToHistograms(db, s, dialect);
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

/** Percentiles (0..1) of bucket counts, each within LATENCY_ACCURACY of the true value. */
export function bucketQuantiles(counts: ReadonlyMap<number, number>, qs: readonly number[]): number[] {
  const kept = [...counts].filter(([, n]) => n > 0);
  const keys = Int32Array.from(kept, ([k]) => k);
  const n = kept.reduce((s, [, c]) => s + c, 0);
  return mergedQuantiles([{ n, keys, counts: Float64Array.from(kept, ([, c]) => c) }], qs);
}

/** Backfills the series from what is already stored (migration 6), a page of requests at a time. */
export async function backfillSeries(
  db: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
  pageSize = 5000,
): Promise<void> {
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
    await addToSeries(db, sums, dialect);
    afterTs = Number(page.at(-1)!.ts);
    afterId = page.at(-1)!.id;
  }
}
