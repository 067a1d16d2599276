/**
 * The dashboard's reads: every chart from the hourly rollups (so a window costs hours × models ×
 * tasks × keys rows, whatever the request volume), the request list from the requests' ts index,
 * and the kept reports. Time buckets are whole hours, summed into `stepHours`-wide steps.
 */
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';

import { hourOf } from './rollups.js';
import type { Database, RequestsTable } from './schema.js';
import { decodeBuckets, DecodedCache, mergedQuantiles, type DecodedBuckets } from './series.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface Window {
  /** Epoch ms; rounded down to the hour. */
  since: number;
  /** Epoch ms, exclusive (default: now). */
  until?: number;
  /** Hours per chart step (default 1). */
  stepHours?: number;
}

/** A slice's sums over some hours (the rollups' columns, named for callers). */
export interface SliceSums {
  requests: number;
  errors: number;
  cost: number;
  latencySum: number;
  promptTokens: number;
  completionTokens: number;
  rated: number;
  scoreSum: number;
  scoreSq: number;
}

export interface TrafficPoint extends SliceSums {
  t: number;
  model: string;
}

export interface GroupRow extends SliceSums {
  key: string;
  model: string;
}

export interface LatencyPoint {
  /** Step start; -1 for the whole window. */
  t: number;
  model: string;
  metric: 'latency' | 'ttft';
  n: number;
  p50: number;
  p95: number;
}

export interface SpendPoint {
  t: number;
  /** A task ('*': none) or a key id ('': none). */
  value: string;
  requests: number;
  cost: number;
}

export interface EventPoint {
  t: number;
  model: string;
  event: string;
  n: number;
}

export interface RequestFilter {
  /** A request id or its prefix. */
  q?: string;
  model?: string;
  task?: string;
  status?: 'ok' | 'error';
  keyId?: string;
  /** Epoch ms: only requests before this (the next page). */
  before?: number;
  limit?: number;
}

export type RequestListRow = Pick<
  RequestsTable,
  | 'id'
  | 'ts'
  | 'kind'
  | 'task'
  | 'model'
  | 'decision_model'
  | 'strategy'
  | 'status'
  | 'code'
  | 'latency_ms'
  | 'cost'
  | 'key_id'
  | 'fallbacks'
>;

export interface StoredReport {
  id: string;
  ts: number;
  kind: string;
  title: string;
  body: string;
}

const num = (x: unknown) => Number(x ?? 0);

/** A slice's summed columns, as a select list. */
const sums = (eb: ExpressionBuilder<Database, 'rollup_slices'>) => [
  eb.fn.sum<number>('requests').as('requests'),
  eb.fn.sum<number>('errors').as('errors'),
  eb.fn.sum<number>('cost').as('cost'),
  eb.fn.sum<number>('latency_sum').as('ls'),
  eb.fn.sum<number>('prompt_tokens').as('pt'),
  eb.fn.sum<number>('completion_tokens').as('ct'),
  eb.fn.sum<number>('rated').as('rated'),
  eb.fn.sum<number>('score_sum').as('ss'),
  eb.fn.sum<number>('score_sq').as('sq'),
];

/** The summed columns of a row selected with `sums`, as numbers (drivers return strings for big sums). */
const sumsOf = (
  r: Record<'requests' | 'errors' | 'cost' | 'ls' | 'pt' | 'ct' | 'rated' | 'ss' | 'sq', unknown>,
): SliceSums => ({
  requests: num(r.requests),
  errors: num(r.errors),
  cost: num(r.cost),
  latencySum: num(r.ls),
  promptTokens: num(r.pt),
  completionTokens: num(r.ct),
  rated: num(r.rated),
  scoreSum: num(r.ss),
  scoreSq: num(r.sq),
});

/** The kind under which `arbiter compare` keeps each comparison's report.json. */
export const COMPARISON_REPORT = 'comparison';

export class StoreViews {
  /** Decoded histogram rows by key, with the count they were decoded at (a grown row is read again). */
  private readonly histograms = new DecodedCache(20_000);

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  private range(w: Window) {
    const step = Math.max(1, Math.floor(w.stepHours ?? 1)) * HOUR;
    return { from: hourOf(w.since), to: w.until ?? Number.MAX_SAFE_INTEGER, step };
  }

  /** Requests, errors, cost, tokens and latency per model per step. */
  async traffic(w: Window): Promise<TrafficPoint[]> {
    const { from, to, step } = this.range(w);
    const t = sql<number>`(hour / ${sql.lit(step)}) * ${sql.lit(step)}`;
    const rows = await this.db
      .selectFrom('rollup_slices')
      .where('slice', '=', 'model')
      .where('hour', '>=', from)
      .where('hour', '<', to)
      .select((eb) => [t.as('t'), 'model', ...sums(eb)])
      .groupBy([t, 'model'])
      .orderBy('t')
      .execute();
    return rows.map((r) => ({ t: num(r.t), model: r.model, ...sumsOf(r) }));
  }

  /**
   * Sums per model and task, or per key (model ''), over the window (ratings included): whole UTC
   * days from the daily slice, the hours at either edge from the hourly one.
   */
  async grouped(w: Window, by: 'task' | 'key'): Promise<GroupRow[]> {
    const { from, to } = this.range(w);
    const end = Math.min(to, hourOf(Date.now()) + HOUR); // an open window ends with the current hour
    const firstDay = Math.ceil(from / DAY) * DAY;
    const lastDay = Math.floor(end / DAY) * DAY;
    const parts: Array<[string, number, number]> =
      firstDay < lastDay
        ? [
            [`${by}@day`, firstDay, lastDay],
            [by, from, firstDay],
            [by, lastDay, end],
          ]
        : [[by, from, end]];
    const groups = new Map<string, GroupRow>();
    for (const [slice, lo, hi] of parts) {
      if (lo >= hi) continue;
      const rows = await this.db
        .selectFrom('rollup_slices')
        .where('slice', '=', slice)
        .where('hour', '>=', lo)
        .where('hour', '<', hi)
        .select((eb) => ['value', 'model', ...sums(eb)])
        .groupBy(['value', 'model'])
        .execute();
      for (const r of rows) {
        const id = `${r.value}\u0000${r.model}`;
        const v = sumsOf(r);
        const g = groups.get(id);
        if (!g) groups.set(id, { key: r.value, model: r.model, ...v });
        else for (const k of Object.keys(v) as Array<keyof SliceSums>) g[k] += v[k];
      }
    }
    return [...groups.values()];
  }

  /**
   * p50 and p95 of latency and time to first token per model: per step, and over the whole window
   * (t = -1). Rows are read as (key, n) first; only rows not yet decoded, or grown since, are read
   * whole — a window's past hours come from the cache, the current hour from the store.
   */
  async latency(w: Window): Promise<LatencyPoint[]> {
    const { from, to, step } = this.range(w);
    const heads = await this.db
      .selectFrom('rollup_latency')
      .select(['hour', 'model', 'metric', 'n'])
      .where('hour', '>=', from)
      .where('hour', '<', to)
      .execute();
    const id = (r: { hour: number; model: string; metric: string }) =>
      `${Number(r.hour)}\u0000${r.model}\u0000${r.metric}`;
    const stale = heads.filter((r) => this.histograms.get(id(r))?.n !== Number(r.n));
    for (let i = 0; i < stale.length; i += 500) {
      const part = stale.slice(i, i + 500);
      const rows = await this.db
        .selectFrom('rollup_latency')
        .selectAll()
        .where('hour', 'in', [...new Set(part.map((r) => Number(r.hour)))])
        .where('model', 'in', [...new Set(part.map((r) => r.model))])
        .execute();
      for (const r of rows) this.histograms.set(id(r), decodeBuckets(r.buckets, Number(r.n)));
    }
    const groups = new Map<string, { t: number; model: string; metric: string; rows: DecodedBuckets[] }>();
    const add = (t: number, r: (typeof heads)[number], h: DecodedBuckets) => {
      const gid = `${t}\u0000${r.model}\u0000${r.metric}`;
      let g = groups.get(gid);
      if (!g) groups.set(gid, (g = { t, model: r.model, metric: r.metric, rows: [] }));
      g.rows.push(h);
    };
    for (const r of heads) {
      const h = this.histograms.get(id(r));
      if (!h) continue;
      add(Math.floor(Number(r.hour) / step) * step, r, h);
      add(-1, r, h);
    }
    this.histograms.trim();
    return [...groups.values()]
      .map((g) => {
        const [p50, p95] = mergedQuantiles(g.rows, [0.5, 0.95]);
        const n = g.rows.reduce((s, h) => s + h.n, 0);
        return { t: g.t, model: g.model, metric: g.metric as LatencyPoint['metric'], n, p50: p50!, p95: p95! };
      })
      .sort((a, b) => a.t - b.t || (a.model < b.model ? -1 : 1));
  }

  /** Requests and spend per task, or per key, per step (hourly slices summed into steps). */
  async spendOverTime(w: Window, by: 'task' | 'key'): Promise<SpendPoint[]> {
    const { from, to, step } = this.range(w);
    const t = sql<number>`(hour / ${sql.lit(step)}) * ${sql.lit(step)}`;
    const rows = await this.db
      .selectFrom('rollup_slices')
      .where('slice', '=', by)
      .where('hour', '>=', from)
      .where('hour', '<', to)
      .select((eb) => [
        t.as('t'),
        'value',
        eb.fn.sum<number>('requests').as('requests'),
        eb.fn.sum<number>('cost').as('cost'),
      ])
      .groupBy([t, 'value'])
      .orderBy('t')
      .execute();
    return rows.map((r) => ({ t: num(r.t), value: r.value, requests: num(r.requests), cost: num(r.cost) }));
  }

  /** Selections, fallbacks and errors by code per model per step. */
  async events(w: Window): Promise<EventPoint[]> {
    const { from, to, step } = this.range(w);
    const t = sql<number>`(hour / ${sql.lit(step)}) * ${sql.lit(step)}`;
    const rows = await this.db
      .selectFrom('rollup_events')
      .where('hour', '>=', from)
      .where('hour', '<', to)
      .select((eb) => [t.as('t'), 'model', 'event', eb.fn.sum<number>('n').as('n')])
      .groupBy([t, 'model', 'event'])
      .orderBy('t')
      .execute();
    return rows.map((r) => ({ t: num(r.t), model: r.model, event: r.event, n: num(r.n) }));
  }

  /** The most recent requests matching the filter, newest first (at most 200). */
  async recent(f: RequestFilter = {}): Promise<RequestListRow[]> {
    let q = this.db
      .selectFrom('requests')
      .select([
        'id',
        'ts',
        'kind',
        'task',
        'model',
        'decision_model',
        'strategy',
        'status',
        'code',
        'latency_ms',
        'cost',
        'key_id',
        'fallbacks',
      ]);
    if (f.q) {
      // an id prefix: a range over the primary key on SQLite (a LIKE there would scan the ts index)
      const like = `${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where(sql<boolean>`${sql.ref('id')} like ${like} escape '\\'`);
      if (this.dialect === 'sqlite') q = q.where('id', '>=', f.q).where('id', '<', `${f.q}\uffff`);
    }
    if (f.model) q = q.where('model', '=', f.model);
    if (f.task) q = q.where('task', '=', f.task);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.keyId) q = q.where('key_id', '=', f.keyId);
    if (f.before !== undefined) q = q.where('ts', '<', f.before);
    const rows = await q
      .orderBy('ts', 'desc')
      .limit(Math.min(200, Math.max(1, f.limit ?? 50)))
      .execute();
    return rows.map((r) => ({ ...r, ts: Number(r.ts), latency_ms: Number(r.latency_ms), cost: Number(r.cost) }));
  }

  /** Keeps a report (a comparison's report.json); a second one with the same id replaces it. */
  async addReport(r: StoredReport): Promise<void> {
    await this.db
      .insertInto('reports')
      .values(r)
      .onConflict((oc) => oc.column('id').doUpdateSet({ ts: r.ts, title: r.title, body: r.body }))
      .execute();
  }

  /** The newest reports of a kind, newest first. */
  async reports(kind: string, limit = 10): Promise<StoredReport[]> {
    const rows = await this.db
      .selectFrom('reports')
      .selectAll()
      .where('kind', '=', kind)
      .orderBy('ts', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, ts: Number(r.ts) }));
  }
}
