/**
 * /dashboard: the page (built from web/, served by @fastify/static) and its data API under
 * /dashboard/api — an overview of a range from the rollups, the models' live state, the request
 * list and a request's page, experiments and kept comparisons. An admin key when keys are on.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

import { ArbiterError, ErrorCodes } from '../../errors.js';
import {
  buildOverview,
  comparisonViews,
  dashboardAssets,
  experimentViews,
  requestDetail,
  requestRow,
  type Live,
  type Overview,
} from '../dashboard/index.js';
import type { EngineHost } from '../host.js';
import { modelState } from '../model-state.js';

const HOUR = 3_600_000;
/** The longest range the overview reads (the rollups are hourly: 90 days is 2,160 steps at most). */
const MAX_RANGE_HOURS = 90 * 24;

const rangeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    range: { type: 'string', pattern: '^[1-9][0-9]{0,3}[hd]$', 'x-param': 'range' },
    since: { type: 'string', pattern: '^[0-9]{1,15}$' },
    until: { type: 'string', pattern: '^[0-9]{1,15}$' },
  },
} as const;

const requestsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { type: 'string', maxLength: 128 },
    model: { type: 'string', maxLength: 200 },
    task: { type: 'string', maxLength: 64 },
    status: { enum: ['ok', 'error'] },
    key: { type: 'string', maxLength: 64 },
    before: { type: 'string', pattern: '^[0-9]{1,15}$' },
    limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
  },
} as const;

/** A range (`24h`, `7d`) or explicit since/until (epoch ms) as a window ending now by default. */
export function parseRange(q: { range?: string; since?: string; until?: string }, now = Date.now()) {
  const until = q.until !== undefined ? Number(q.until) : now;
  let since: number;
  if (q.since !== undefined) since = Number(q.since);
  else {
    const r = q.range ?? '24h';
    since = until - Number(r.slice(0, -1)) * (r.endsWith('d') ? 24 : 1) * HOUR;
  }
  if (!(since < until))
    throw new ArbiterError(ErrorCodes.INVALID_REQUEST, 'since must be before until', { param: 'since' });
  if (until - since > MAX_RANGE_HOURS * HOUR)
    throw new ArbiterError(ErrorCodes.INVALID_REQUEST, `a range is at most ${MAX_RANGE_HOURS / 24} days`, {
      param: q.since !== undefined ? 'since' : 'range',
    });
  return { since, until };
}

/** Each configured model's state now, load, and breaker history (newest first). */
export function liveState(host: EngineHost, now = Date.now()): Live {
  const e = host.current;
  return {
    generatedAt: now,
    models: [...e.upstreams].map(([id, u]) => ({
      id,
      state: modelState(u.gate),
      inFlight: u.gate.inFlight,
      queued: u.gate.queued,
      maxConcurrent: u.gate.maxConcurrent,
      ...(u.gate.breaker() === 'open' ? { retryInMs: u.gate.cooldownLeftMs() } : {}),
      history: [...u.gate.history()].reverse(),
    })),
    store: e.store
      ? {
          status: e.store.status.status,
          queued: e.store.status.queued,
          written: e.store.status.written,
          dropped: e.store.status.dropped,
        }
      : null,
  };
}

/** How long an overview is served to other pages asking for the same window. */
export const OVERVIEW_TTL_MS = 1000;
const MAX_SHARED = 32;

/** One computation per key and store at a time, reused for OVERVIEW_TTL_MS (at most MAX_SHARED keys a store). */
function sharedOverviews() {
  const byStore = new WeakMap<object, Map<string, { at: number; value: Promise<Overview> }>>();
  return (owner: object, key: string, compute: () => Promise<Overview>): Promise<Overview> => {
    let m = byStore.get(owner);
    if (!m) byStore.set(owner, (m = new Map()));
    const now = Date.now();
    const hit = m.get(key);
    if (hit && now - hit.at < OVERVIEW_TTL_MS) return hit.value;
    const value = compute();
    m.delete(key);
    m.set(key, { at: now, value });
    value.catch(() => m.get(key)?.value === value && m.delete(key)); // a failure is not served again
    for (const k of m.keys()) if (m.size > MAX_SHARED) m.delete(k);
    return value;
  };
}

export async function dashboardRoutes(app: FastifyInstance, host: EngineHost): Promise<void> {
  const shared = sharedOverviews();
  const operator = { onRequest: app.requireRole('operator') };
  const root = dashboardAssets();
  app.get('/dashboard', async (_req, reply) => reply.redirect('/dashboard/', 302));
  if (root) await app.register(fastifyStatic, { root, prefix: '/dashboard/', index: ['index.html'], wildcard: false });
  else
    app.get('/dashboard/', async () => {
      throw new ArbiterError(
        ErrorCodes.UNSUPPORTED,
        'the dashboard page is not built (dist/dashboard): run npm install (or npm run build:web)',
        {},
      );
    });

  const sql = () => host.current.store?.sql;
  app.get('/dashboard/api/overview', { ...operator, schema: { querystring: rangeQuery } }, async (req) => {
    const w = parseRange(req.query as { range?: string; since?: string; until?: string });
    const store = sql();
    if (!store)
      throw new ArbiterError(ErrorCodes.UNSUPPORTED, 'the dashboard needs an outcome store (store.url)', {
        param: 'store.url',
      });
    // polls from several pages share one computation a second: a window's queries run on the event
    // loop (SQLite is synchronous), so N open tabs must not cost N times the work
    const q = req.query as { range?: string; since?: string; until?: string };
    const key = q.since !== undefined || q.until !== undefined ? `${w.since}-${w.until}` : (q.range ?? '24h');
    return shared(store.views, key, () => buildOverview(store.views, host.current.config.models, w));
  });
  app.get('/dashboard/api/live', operator, async () => liveState(host));
  app.get('/dashboard/api/requests', { ...operator, schema: { querystring: requestsQuery } }, async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const store = sql();
    if (!store) return { data: [] };
    const rows = await store.views.recent({
      ...(q.q ? { q: q.q } : {}),
      ...(q.model ? { model: q.model } : {}),
      ...(q.task ? { task: q.task } : {}),
      ...(q.status ? { status: q.status as 'ok' | 'error' } : {}),
      ...(q.key ? { keyId: q.key } : {}),
      ...(q.before ? { before: Number(q.before) } : {}),
      ...(q.limit ? { limit: Number(q.limit) } : {}),
    });
    return { data: rows.map(requestRow) };
  });
  app.get('/dashboard/api/requests/:id', operator, async (req) => {
    const { id } = req.params as { id: string };
    const store = host.current.store; // its queue is written first when it holds the request
    const d = store && id.length <= 128 ? await requestDetail(store, id) : undefined;
    if (!d) throw new ArbiterError(ErrorCodes.NOT_FOUND, `no recorded request ${id.slice(0, 128)}`, { param: 'id' });
    return d;
  });
  app.get('/dashboard/api/experiments', operator, async () => ({
    data: await experimentViews(host.current.experiments),
  }));
  app.get('/dashboard/api/comparisons', operator, async () => {
    const store = sql();
    return { data: store ? await comparisonViews(store) : [] };
  });
}
