/**
 * The dashboard's overview of a window: traffic, latency, cost and quality per model from the
 * store's rollups, with what always using the strongest model would have cost (its prices times
 * the tokens the requests used).
 */
import type { ModelSpec } from '../../config/index.js';
import {
  ratedInterval,
  type EventPoint,
  type GroupRow,
  type StoreViews,
  type TrafficPoint,
} from '../../store/index.js';
import type { Overview, QualityCell, Spend, Step } from './types.js';

const HOUR = 3_600_000;

export interface WindowRequest {
  since: number;
  until: number;
}

/** Hours per chart step: hourly up to two days, six-hourly up to two weeks, daily beyond. */
export function stepHoursFor(w: WindowRequest): number {
  const hours = (w.until - w.since) / HOUR;
  return hours <= 48 ? 1 : hours <= 24 * 14 ? 6 : 24;
}

/** The model with the highest mean prior strength (ties: the higher output price). */
export function strongestModel(models: readonly ModelSpec[]): ModelSpec | undefined {
  const mean = (m: ModelSpec) => {
    const v = Object.values(m.strengths ?? {});
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
  };
  return [...models].sort((a, b) => mean(b) - mean(a) || (b.cost?.outputPer1k ?? 0) - (a.cost?.outputPer1k ?? 0))[0];
}

const priced = (m: ModelSpec | undefined, pt: number, ct: number) =>
  m?.cost ? (pt / 1000) * m.cost.inputPer1k + (ct / 1000) * m.cost.outputPer1k : 0;

function spend(rows: readonly GroupRow[]): Spend[] {
  const by = new Map<string, Spend>();
  for (const r of rows) {
    const s = by.get(r.key) ?? { key: r.key, requests: 0, errors: 0, cost: 0, tokens: 0 };
    s.requests += r.requests;
    s.errors += r.errors;
    s.cost += r.cost;
    s.tokens += r.promptTokens + r.completionTokens;
    by.set(r.key, s);
  }
  return [...by.values()].sort((a, b) => b.cost - a.cost || b.requests - a.requests);
}

/** Per step and model: the rollups' sums, the events (selections, fallbacks) and the strongest model's price of the tokens; errors by code. */
function accumulate(traffic: readonly TrafficPoint[], events: readonly EventPoint[], strongest: ModelSpec | undefined) {
  const steps = new Map<string, Step>();
  const step = (t: number, model: string) => {
    const id = `${t}\u0000${model}`;
    let s = steps.get(id);
    if (!s)
      steps.set(
        id,
        (s = {
          t,
          model,
          requests: 0,
          errors: 0,
          cost: 0,
          tokens: 0,
          meanLatencyMs: 0,
          selected: 0,
          fallbacks: 0,
          strongestCost: 0,
        }),
      );
    return s;
  };
  const answeredErrors = new Map<Step, number>();
  for (const r of traffic) {
    const s = step(r.t, r.model);
    s.requests = r.requests;
    answeredErrors.set(s, r.errors);
    s.cost = r.cost;
    s.tokens = r.promptTokens + r.completionTokens;
    s.meanLatencyMs = r.requests ? r.latencySum / r.requests : 0;
    s.strongestCost = priced(strongest, r.promptTokens, r.completionTokens);
  }
  const errorsByCode = new Map<string, { code: string; model: string; n: number }>();
  for (const e of events) {
    if (e.event === 'selected') step(e.t, e.model).selected += e.n;
    else if (e.event === 'fallback') step(e.t, e.model).fallbacks += e.n;
    else if (e.event.startsWith('error:')) {
      step(e.t, e.model).errors += e.n;
      const code = e.event.slice('error:'.length);
      const id = `${code}\u0000${e.model}`;
      const c = errorsByCode.get(id) ?? { code, model: e.model, n: 0 };
      c.n += e.n;
      errorsByCode.set(id, c);
    }
  }
  // every failure counts as a request, though one no model answered is not in the rollups' volume
  for (const s of steps.values()) s.requests += Math.max(0, s.errors - (answeredErrors.get(s) ?? 0));
  return {
    steps: [...steps.values()],
    errorsByCode: [...errorsByCode.values()].sort((a, b) => b.n - a.n),
  };
}

export async function buildOverview(
  views: StoreViews,
  models: readonly ModelSpec[],
  w: WindowRequest,
  now = Date.now(),
): Promise<Overview> {
  const stepHours = stepHoursFor(w);
  const win = { since: w.since, until: w.until, stepHours };
  const [traffic, latency, events, byTask, byKey, taskSteps, keySteps] = await Promise.all([
    views.traffic(win),
    views.latency(win),
    views.events(win),
    views.grouped(win, 'task'),
    views.grouped(win, 'key'),
    views.spendOverTime(win, 'task'),
    views.spendOverTime(win, 'key'),
  ]);
  const strongest = strongestModel(models);
  const { steps, errorsByCode } = accumulate(traffic, events, strongest);
  const quality: QualityCell[] = byTask
    .map((r) => ({
      model: r.model,
      task: r.key,
      requests: r.requests,
      rated: r.rated,
      ratedShare: r.requests ? Math.min(1, r.rated / r.requests) : r.rated ? 1 : 0,
      quality: ratedInterval(r.rated, r.scoreSum, r.scoreSq),
    }))
    .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : a.task < b.task ? -1 : 1));
  const all = steps.sort((a, b) => a.t - b.t || (a.model < b.model ? -1 : 1));
  const sum = (f: (s: Step) => number) => all.reduce((a, s) => a + f(s), 0);
  const cost = sum((s) => s.cost);
  const strongestCost = sum((s) => s.strongestCost);
  const names = new Set([...models.map((m) => m.id), ...all.map((s) => s.model)]);
  return {
    generatedAt: now,
    since: w.since,
    until: w.until,
    stepHours,
    models: [...names].filter(Boolean).sort(),
    totals: {
      requests: sum((s) => s.requests),
      errors: sum((s) => s.errors),
      cost,
      tokens: sum((s) => s.tokens),
      fallbacks: sum((s) => s.fallbacks),
      rated: byTask.reduce((a, r) => a + r.rated, 0),
      strongest: strongest?.id ?? null,
      strongestCost,
      saved: strongestCost - cost,
    },
    steps: all,
    latency: latency.filter((l) => l.t >= 0),
    latencyByModel: latency.filter((l) => l.t < 0),
    errorsByCode,
    byKey: spend(byKey),
    byTask: spend(byTask),
    taskSteps,
    keySteps,
    quality,
  };
}
