/**
 * The dashboard's data: percentiles from the stored histograms against exact ones on fresh random
 * latencies; the overview over HTTP against what the store holds row by row (requests, cost,
 * selections, errors by code, p50/p95, what the strongest model would have cost); the request
 * page; bad input and wrong keys refused with a code and no state changed; the page's files
 * served with nothing external; `arbiter report` as one self-contained file; the series
 * backfill of migration 6; and SQLite and PostgreSQL answering the same views alike.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import { createArbiter } from '../src/index.js';
import { dashboardAssets, type Overview, type Snapshot } from '../src/server/index.js';
import {
  bucketQuantiles,
  LATENCY_ACCURACY,
  latencyBucket,
  MIGRATIONS,
  openStore,
  type Database,
  type SqlStore,
  type StoredRecord,
} from '../src/store/index.js';
import { backfillSeries } from '../src/store/series.js';
import { ADMIN_KEY, CLIENT_KEY, startDashboardFixture, type DashboardFixture } from './dashboard-fixture.js';
import { Random, SEED } from './helpers.js';
import { freshPgDatabase, postgresAvailable } from './services.js';

/** The value at rank ⌊q·(n−1)⌋ of sorted values (the rank DDSketch answers for). */
const exactQuantile = (sorted: readonly number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;

describe('latency histograms', () => {
  it(`percentiles from summed buckets are within ${LATENCY_ACCURACY * 100}% of the exact ones (fresh log-normal latencies, seed ${SEED})`, () => {
    const rnd = new Random(SEED);
    for (let trial = 0; trial < 20; trial++) {
      const n = rnd.int(50, 5000);
      const z = rnd.normal(n);
      const mu = 2 + rnd.uniform() * 5; // medians from 7 ms to 1 s
      const values = Array.from(z, (x) => Math.exp(mu + x * (0.3 + rnd.uniform())));
      const counts = new Map<number, number>();
      for (const v of values) counts.set(latencyBucket(v), (counts.get(latencyBucket(v)) ?? 0) + 1);
      const sorted = [...values].sort((a, b) => a - b);
      const qs = [0.5, 0.9, 0.95, 0.99];
      const got = bucketQuantiles(counts, qs);
      qs.forEach((q, i) => {
        const want = exactQuantile(sorted, q);
        expect(Math.abs(got[i]! - want) / want, `trial ${trial} q${q}`).toBeLessThanOrEqual(LATENCY_ACCURACY + 1e-9);
      });
    }
  });
  it('an empty histogram has no percentile', () => {
    expect(bucketQuantiles(new Map(), [0.5]).every(Number.isNaN)).toBe(true);
  });
});

describe('dashboard API over a seeded gateway', () => {
  let fx: DashboardFixture;
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const get = async (path: string, headers: Record<string, string> = admin) => {
    const r = await fetch(`${fx.url}${path}`, { headers });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const store = () => fx.engine.store!.sql;

  beforeAll(async () => {
    fx = await startDashboardFixture({ requests: 30, seed: SEED });
    // two failures on flaky with its breaker still closed (the threshold is 3): errors by code
    fx.setFailing(true);
    for (let i = 0; i < 2; i++) await fx.send('What is the capital of Australia?', 'flaky');
    fx.setFailing(false);
    await fx.engine.store!.flush();
  }, 120_000);
  afterAll(() => fx?.close());

  it('the overview matches the stored rows: requests, cost, selections, errors by code, percentiles, savings', async () => {
    const { status, body } = await get('/dashboard/api/overview?range=24h');
    expect(status).toBe(200);
    const o = body as unknown as Overview;
    // every request but route decisions: answered ones, and failures on the model they failed on
    const all = await store().db.selectFrom('requests').selectAll().where('kind', '!=', 'route').execute();
    const calls = await store().db.selectFrom('calls').selectAll().orderBy('attempt').execute();
    const failedOn = (id: string) => calls.filter((c) => c.request_id === id).at(-1)?.model;
    const attributed = all.map((r) => ({ ...r, on: r.model ?? failedOn(r.id) }));
    const rows = all.filter((r) => r.model !== null);
    expect(o.totals.requests).toBe(attributed.length);
    expect(o.totals.errors).toBe(attributed.filter((r) => r.status === 'error').length);
    expect(o.totals.cost).toBeCloseTo(
      rows.reduce((s, r) => s + Number(r.cost), 0),
      10,
    );
    const per = (m: string) => o.steps.filter((s) => s.model === m);
    for (const m of ['strong', 'flaky', 'fast']) {
      expect(
        per(m).reduce((s, x) => s + x.requests, 0),
        m,
      ).toBe(attributed.filter((r) => r.on === m).length);
      expect(
        per(m).reduce((s, x) => s + x.selected, 0),
        m,
      ).toBe((await store().db.selectFrom('requests').select('id').where('decision_model', '=', m).execute()).length);
    }
    expect(o.errorsByCode.find((e) => e.model === 'flaky')?.n).toBe(2);
    // p50 and p95 per model: within the histogram's accuracy of the exact ones over the calls
    for (const l of o.latencyByModel.filter((x) => x.metric === 'latency')) {
      const calls = await store()
        .db.selectFrom('calls')
        .select('latency_ms')
        .where('model', '=', l.model)
        .where('status', '=', 'ok')
        .execute();
      const sorted = calls.map((c) => Number(c.latency_ms)).sort((a, b) => a - b);
      expect(l.n).toBe(sorted.length);
      for (const [q, got] of [
        [0.5, l.p50],
        [0.95, l.p95],
      ] as const)
        expect(Math.abs(got - exactQuantile(sorted, q)) / exactQuantile(sorted, q)).toBeLessThanOrEqual(
          LATENCY_ACCURACY + 1e-9,
        );
    }
    // the strongest model (highest prior strength) priced on every request's tokens
    expect(o.totals.strongest).toBe('strong');
    const tokens = rows.reduce((s, r) => [s[0]! + r.prompt_tokens, s[1]! + r.completion_tokens], [0, 0]);
    expect(o.totals.strongestCost).toBeCloseTo((tokens[0]! / 1000) * 0.01 + (tokens[1]! / 1000) * 0.02, 10);
    expect(o.totals.saved).toBeCloseTo(o.totals.strongestCost - o.totals.cost, 10);
    // spend per task and per key over time adds up to the spend
    for (const steps of [o.taskSteps, o.keySteps])
      expect(steps.reduce((c, x) => c + x.cost, 0)).toBeCloseTo(o.totals.cost, 10);
    expect(new Set(o.keySteps.map((k) => k.value)).size).toBe(o.byKey.length);
    // quality per model × task: the rated share and an interval around each mean
    for (const c of o.quality.filter((q) => q.quality)) {
      expect(c.quality!.low).toBeLessThanOrEqual(c.quality!.mean);
      expect(c.quality!.high).toBeGreaterThanOrEqual(c.quality!.mean);
      expect(c.ratedShare).toBeGreaterThan(0);
    }
    expect(o.totals.rated).toBe(
      (await store().db.selectFrom('feedback').select('request_id').execute()).filter((f) =>
        rows.some((r) => r.id === f.request_id),
      ).length,
    );
  });

  it('pages polling the same window at once share one computation', async () => {
    const views = store().views;
    const traffic = vi.spyOn(views, 'traffic');
    try {
      const range = '2d'; // a window no other test asked for
      const answers = await Promise.all(Array.from({ length: 6 }, () => get(`/dashboard/api/overview?range=${range}`)));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
      expect(traffic).toHaveBeenCalledTimes(1);
    } finally {
      traffic.mockRestore();
    }
  });

  it('lists recent requests (newest first, filtered) and opens one with its decision, calls and feedback', async () => {
    const list = (await get('/dashboard/api/requests?limit=200')).body.data as Array<{ id: string; ts: number }>;
    expect(list.length).toBeGreaterThanOrEqual(fx.sent.length);
    expect(list.map((r) => r.ts)).toEqual([...list.map((r) => r.ts)].sort((a, b) => b - a));
    const errors = (await get('/dashboard/api/requests?status=error')).body.data as Array<{ id: string }>;
    expect(errors.length).toBe(2);
    for (const e of errors)
      expect(
        ((await get(`/dashboard/api/requests/${e.id}`)).body as { calls: Array<{ model: string }> }).calls.at(-1)!
          .model,
      ).toBe('flaky');
    const first = fx.sent[0]!; // model auto: a routed request
    const byPrefix = (await get(`/dashboard/api/requests?q=${first.id.slice(0, 12)}`)).body.data as Array<{
      id: string;
    }>;
    expect(byPrefix.map((r) => r.id)).toContain(first.id);
    const { status, body } = await get(`/dashboard/api/requests/${first.id}`);
    expect(status).toBe(200);
    const d = body as unknown as Snapshot['details'][string];
    expect(d.decision.reason).toMatch(/\w+/);
    expect(d.decision.alternatives.length).toBe(3);
    expect(d.decision.alternatives[0]!.model).toBe(d.decision.model);
    expect(d.calls[0]!.model).toBe(first.model);
    expect(d.actual.latencyMs).toBe(Number((await store().requestRow(first.id))!.latency_ms)); // as stored
    expect(d.predicted.quality).not.toBeNull();
    expect(d.feedback.length).toBe(1); // the fixture rates every other request, the first among them
    expect(d.prompt).toBe('Write a python function that reverses a linked list.');
  });

  it('answers live state, experiments and the kept comparison', async () => {
    const live = (await get('/dashboard/api/live')).body as { models: Array<{ id: string; state: string }> };
    expect(live.models.map((m) => m.id).sort()).toEqual(['fast', 'flaky', 'strong']);
    const x = (await get('/dashboard/api/experiments')).body.data as Array<{ id: string; report: { arms: unknown[] } }>;
    expect(x[0]!.id).toBe('cheaper-default');
    expect(x[0]!.report.arms.length).toBe(2);
    const c = (await get('/dashboard/api/comparisons')).body.data as Array<{
      title: string;
      report: { cases: number; models: unknown[] };
    }>;
    expect(c[0]).toMatchObject({ title: 'strong vs fast', report: { cases: 4 } });
  });

  it('refuses wrong keys and bad input with a code, and changes nothing', async () => {
    const before = await store().count();
    expect(await get('/dashboard/api/overview', {})).toMatchObject({
      status: 401,
      body: { error: { code: ErrorCodes.UNAUTHORIZED } },
    });
    expect(await get('/dashboard/api/overview', { authorization: `Bearer ${CLIENT_KEY}` })).toMatchObject({
      status: 403,
      body: { error: { code: ErrorCodes.FORBIDDEN } },
    });
    for (const q of ['range=abc', 'range=0h', 'range=91d', 'since=5&until=5', 'since=x', 'extra=1'])
      expect((await get(`/dashboard/api/overview?${q}`)).body, q).toMatchObject({
        error: { code: ErrorCodes.INVALID_REQUEST },
      });
    for (const q of ['limit=abc', 'status=maybe', `q=${'x'.repeat(200)}`])
      expect((await get(`/dashboard/api/requests?${q}`)).status, q).toBe(400);
    // LIKE's wildcards in a search are literal characters: nothing starts with them
    for (const q of ['%25', '_', '%5C'])
      expect((await get(`/dashboard/api/requests?q=${q}`)).body, q).toEqual({ data: [] });
    expect(await get('/dashboard/api/requests/no-such-request')).toMatchObject({
      status: 404,
      body: { error: { code: ErrorCodes.NOT_FOUND } },
    });
    // a path parameter past Fastify's 100 characters is refused before the route: 414, as JSON
    expect(await get(`/dashboard/api/requests/${'y'.repeat(300)}`)).toMatchObject({ status: 414, body: { error: {} } });
    expect(await store().count()).toBe(before);
  });

  it('serves the built page under /dashboard/ with nothing fetched from elsewhere', async () => {
    const redirect = await fetch(`${fx.url}/dashboard`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/dashboard/');
    const page = await fetch(`${fx.url}/dashboard/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('./assets/app.js');
    const js = await fetch(`${fx.url}/dashboard/assets/app.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    // no script, stylesheet or font from another origin, in the page or its files
    const dir = dashboardAssets()!;
    for (const f of ['index.html', ...(await readdir(join(dir, 'assets'))).map((a) => join('assets', a))]) {
      const text = await readFile(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/(src|href)=["']?https?:/i);
      expect(text, f).not.toMatch(/@import\s+url\(["']?https?:/i);
    }
  });

  it('arbiter report writes one self-contained file with the same numbers as the API', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'arbiter-report-')), 'report.html');
    const bin = new URL('../bin/arbiter.js', import.meta.url).pathname;
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [
      bin,
      'report',
      '--config',
      fx.configPath,
      '--since',
      '7d',
      '--out',
      out,
    ]);
    expect(stdout).toContain(out);
    const html = await readFile(out, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/i);
    const json = /<script type="application\/json" id="arbiter-snapshot">(.*?)<\/script>/s.exec(html)![1]!;
    const snap = JSON.parse(json) as Snapshot;
    const api = (await get('/dashboard/api/overview?range=7d')).body as unknown as Overview;
    expect(snap.overview.totals.requests).toBe(api.totals.requests);
    expect(snap.overview.totals.cost).toBeCloseTo(api.totals.cost, 10);
    const listed = (await get('/dashboard/api/requests?limit=100')).body.data as Array<{ id: string }>;
    expect(snap.requests.map((r) => r.id)).toEqual(listed.map((r) => r.id));
    for (const r of snap.requests) expect(snap.details[r.id]?.id).toBe(r.id);
    expect(snap.comparisons[0]!.title).toBe('strong vs fast');
    await expect(
      run(process.execPath, [bin, 'report', '--config', fx.configPath, '--since', 'yesterday-ish', '--out', out]),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('--since') });
  });
});

/** Records as the store keeps them: models, tasks, keys, latencies and errors drawn at random. */
function records(n: number, rnd: Random, start: number): StoredRecord[] {
  const models = ['m-a', 'm-b', 'm-c'];
  return Array.from({ length: n }, (_, i) => {
    const model = models[rnd.int(0, 3)]!;
    const failed = rnd.uniform() < 0.1;
    const latency = Math.exp(3 + rnd.normal(1)[0]!);
    return {
      request: {
        id: `r${i}`,
        ts: start + rnd.int(0, 72) * 3_600_000 + rnd.int(0, 3_600_000),
        kind: 'complete',
        key_id: ['k1', 'k2', null][rnd.int(0, 3)]!,
        task: ['code', 'math', null][rnd.int(0, 3)]!,
        model,
        decision_model: models[rnd.int(0, 3)]!,
        strategy: 'balanced',
        predicted_quality: 0.5,
        predicted_cost: 0.001,
        decode_strategy: null,
        status: failed ? 'error' : 'ok',
        code: failed ? 'ARB_UPSTREAM_ERROR' : null,
        latency_ms: latency,
        cost: rnd.uniform() / 100,
        prompt_tokens: rnd.int(10, 500),
        completion_tokens: rnd.int(10, 300),
        calls: 1,
        fallbacks: rnd.uniform() < 0.2 ? models[rnd.int(0, 3)]! : null,
        prompt_hash: null,
        decision: null,
      },
      calls: [
        {
          request_id: `r${i}`,
          attempt: 1,
          model,
          status: failed ? 'error' : 'ok',
          code: null,
          latency_ms: latency,
          ttft_ms: rnd.uniform() < 0.5 ? latency / 3 : null,
          prompt_tokens: 1,
          completion_tokens: 1,
          cost: 0,
          estimated: 0,
        },
      ],
    };
  });
}

async function views(s: SqlStore, start: number) {
  const w = { since: start, until: start + 80 * 3_600_000, stepHours: 6 };
  const sortKey = (x: object) => JSON.stringify(x);
  const round = <T extends object>(rows: T[]) =>
    rows
      .map((r) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? +v.toPrecision(9) : v])),
      )
      .sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
  return {
    traffic: round(await s.views.traffic(w)),
    latency: round(await s.views.latency(w)),
    events: round(await s.views.events(w)),
    byTask: round(await s.views.grouped(w, 'task')),
    byKey: round(await s.views.grouped(w, 'key')),
    recent: (await s.views.recent({ limit: 20, model: 'm-a' })).map((r) => r.id),
    prefix: (await s.views.recent({ q: 'r12', limit: 200 })).map((r) => r.id).sort(),
  };
}

const pgUp = await postgresAvailable();

describe('series rollups', () => {
  const start = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 72 * 3_600_000;
  const recs = records(3000, new Random(SEED), start);

  it('migration 6 backfills from a version-5 store the same slices and series the writes keep', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-series-'));
    const s = (await openStore(`sqlite:${join(dir, 'a.db')}`))!;
    await s.write(recs.slice(0, 1500));
    await s.write(recs.slice(1000)); // overlapping: the replayed third is not counted twice
    const live = await views(s, start);
    await s.close();
    // the same rows in a store an earlier arbiter left at version 5 (rollups backfilled by migration 2)
    const file = join(dir, 'v5.db');
    const v5 = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(file) }) });
    await MIGRATIONS[0]!.up(v5 as never, 'sqlite');
    for (let i = 0; i < recs.length; i += 200) {
      const part = recs.slice(i, i + 200);
      await v5
        .insertInto('requests')
        .values(part.map(({ request: { decision: _d, ...r } }) => r))
        .execute();
      await v5
        .insertInto('calls')
        .values(part.flatMap((r) => r.calls))
        .execute();
    }
    for (const m of MIGRATIONS.slice(1, 5)) await m.up(v5 as never, 'sqlite');
    await v5.schema
      .createTable('arbiter_meta')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text')
      .execute();
    await v5.insertInto('arbiter_meta').values({ key: 'schema_version', value: '5' }).execute();
    await v5.destroy();
    const migrated = (await openStore(`sqlite:${file}`))!;
    expect(await migrated.version()).toBe(6);
    expect(await views(migrated, start)).toEqual(live);
    expect(live.events.reduce((n, e) => n + Number(e.event === 'selected' ? e.n : 0), 0)).toBe(3000);
    // whole days from the daily slices, the edges by the hour: every request once, by task and by key
    for (const rows of [live.byTask, live.byKey]) {
      expect(rows.reduce((n, r) => n + Number(r.requests), 0)).toBe(3000);
      expect(rows.reduce((n, r) => n + Number(r.cost), 0)).toBeCloseTo(
        recs.reduce((c, r) => c + r.request.cost, 0),
        6,
      );
    }
    const codeRequests = recs.filter((r) => r.request.task === 'code' && r.request.model === 'm-a').length;
    expect(live.byTask.find((r) => r.key === 'code' && r.model === 'm-a')?.requests).toBe(codeRequests);
    // a window cut inside days: only its hours
    const cut = { since: start + 5 * 3_600_000, until: start + 53 * 3_600_000 };
    const inCut = recs.filter((r) => r.request.ts >= cut.since && r.request.ts < cut.until).length;
    expect((await migrated.views.grouped(cut, 'key')).reduce((n, r) => n + r.requests, 0)).toBe(inCut);
    expect(live.prefix.every((id) => id.startsWith('r12'))).toBe(true);
    expect(live.prefix.length).toBe(recs.filter((r) => r.request.id.startsWith('r12')).length);
    // and the backfill alone, a page at a time, rebuilds the series it would keep
    await migrated.db.deleteFrom('rollup_latency').execute();
    await migrated.db.deleteFrom('rollup_events').execute();
    await backfillSeries(migrated.db, 'sqlite', 700);
    expect(await views(migrated, start)).toEqual(live);
    await migrated.close();
  });

  it.runIf(pgUp)('PostgreSQL answers the same views as SQLite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-series-'));
    const lite = (await openStore(`sqlite:${join(dir, 'b.db')}`))!;
    const db = await freshPgDatabase();
    const pg = (await openStore(db.url))!;
    try {
      await lite.write(recs);
      await pg.write(recs);
      expect(await views(pg, start)).toEqual(await views(lite, start));
    } finally {
      await lite.close();
      await pg.close();
      await db.drop();
    }
  });

  it.runIf(pgUp)(
    'PostgreSQL: concurrent writers sharing histogram rows lose no count and do not deadlock',
    async () => {
      const db = await freshPgDatabase();
      const pg = (await openStore(db.url))!;
      try {
        const batches = Array.from({ length: 8 }, (_, b) =>
          records(300, new Random(SEED + b), start).map((r) => ({
            request: { ...r.request, id: `b${b}-${r.request.id}` },
            calls: r.calls.map((c) => ({ ...c, request_id: `b${b}-${r.request.id}` })),
          })),
        );
        await Promise.all(batches.map((b, i) => pg.write(i % 2 ? b.reverse() : b)));
        const w = { since: start, until: start + 80 * 3_600_000 };
        const whole = (await pg.views.latency(w)).filter((l) => l.t === -1 && l.metric === 'latency');
        const ok = batches.flat().filter((r) => r.calls[0]!.status === 'ok');
        for (const l of whole) expect(l.n, l.model).toBe(ok.filter((r) => r.calls[0]!.model === l.model).length);
        expect(whole.reduce((n, l) => n + l.n, 0)).toBe(ok.length);
      } finally {
        await pg.close();
        await db.drop();
      }
    },
  );
});

describe("the README's dashboard commands", () => {
  it('arbiter report on the offline demo config (a copy beside a fresh store)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-report-demo-'));
    for (const f of ['demo.yaml', 'demo-replay.jsonl']) await copyFile(join('config', f), join(dir, f));
    const engine = await createArbiter(join(dir, 'demo.yaml'));
    for (const content of ['What is 17 * 23?', 'What is the capital of France?'])
      await engine.complete({ model: 'auto', messages: [{ role: 'user', content }] });
    await engine.close();
    const run = promisify(execFile);
    const out = join(dir, 'report.html');
    const { stdout } = await run(
      process.execPath,
      ['bin/arbiter.js', 'report', '--config', join(dir, 'demo.yaml'), '--since', '7d', '--out', out],
      { cwd: process.cwd() },
    );
    expect(stdout).toMatch(/2 requests/);
    const html = await readFile(out, 'utf8');
    const snap = JSON.parse(/id="arbiter-snapshot">(.*?)<\/script>/s.exec(html)![1]!) as Snapshot;
    expect(snap.requests.map((r) => r.model).every((m) => m === 'demo-small' || m === 'demo-large')).toBe(true);
  });
});
