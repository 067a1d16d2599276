/**
 * The dashboard's views assembled in one place: the API's experiment and comparison lists, and a
 * whole snapshot (overview, requests with their pages, experiments, comparisons) for a report file.
 */
import type { ModelSpec } from '../../config/index.js';
import type { Experiments } from '../../experiments/index.js';
import { COMPARISON_REPORT, type SqlStore } from '../../store/index.js';
import { buildOverview } from './overview.js';
import { requestDetail, requestRow } from './requests.js';
import type { ComparisonView, ExperimentView, Live, RequestDetail, Snapshot } from './types.js';

export async function experimentViews(x: Experiments | undefined): Promise<ExperimentView[]> {
  if (!x) return [];
  return Promise.all(
    x.defs.map(async (d) => {
      const report = await x.report(d.id).catch(() => undefined);
      return { id: d.id, metric: d.metric, state: x.state(d.id)?.state ?? 'running', report: report ?? null };
    }),
  );
}

export async function comparisonViews(store: SqlStore, limit = 10): Promise<ComparisonView[]> {
  const rows = await store.views.reports(COMPARISON_REPORT, limit);
  return rows.flatMap((r) => {
    try {
      return [{ id: r.id, ts: r.ts, title: r.title, report: JSON.parse(r.body) as ComparisonView['report'] }];
    } catch {
      return []; // a report that no longer parses is left out, not shown half
    }
  });
}

export interface SnapshotOptions {
  store: SqlStore;
  models: readonly ModelSpec[];
  since: number;
  until: number;
  experiments?: Experiments;
  live?: Live;
  /** Requests listed (each with its page), newest first. Default 100. */
  requests?: number;
}

export async function buildSnapshot(o: SnapshotOptions): Promise<Snapshot> {
  const [overview, rows, experiments, comparisons] = await Promise.all([
    buildOverview(o.store.views, o.models, { since: o.since, until: o.until }),
    o.store.views.recent({ limit: o.requests ?? 100, before: o.until }),
    experimentViews(o.experiments),
    comparisonViews(o.store),
  ]);
  const requests = rows.filter((r) => Number(r.ts) >= o.since).map(requestRow);
  const details: Record<string, RequestDetail> = {};
  for (const r of requests) {
    const d = await requestDetail(o.store, r.id);
    if (d) details[r.id] = d;
  }
  return { overview, live: o.live ?? null, requests, details, experiments, comparisons };
}
