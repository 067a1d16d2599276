/**
 * The outcome store, on a SQLite file and on the machine's PostgreSQL (when reachable): every
 * request recorded with its calls, feedback by request id (idempotent per source, owners only),
 * stats with intervals, learning that survives a restart, a newer schema refused, and a write path
 * that spools while the database fails and replays when it returns.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StaticEmbedder } from '../src/embed/index.js';
import { createArbiter, ErrorCodes, type Arbiter } from '../src/index.js';
import { defaultModelDir } from '../src/paths.js';
import { loadJsonl } from '../src/eval/index.js';
import { buildGateway } from '../src/server/index.js';
import {
  MIGRATIONS,
  openStore,
  OutcomeStore,
  Recorder,
  SCHEMA_VERSION,
  type Database,
  type SqlStore,
  type StoredRecord,
} from '../src/store/index.js';
import { availableBackends, startUpstream } from './helpers.js';
import type * as StoreModule from '../src/store/index.js';
import { freshPgDatabase, postgresAvailable } from './services.js';

const backend = availableBackends()[0]!;
const embedder = StaticEmbedder.load(defaultModelDir(), backend);

// an upstream whose models answer by name (`broken` fails)
let baseUrl: string;
let closeUpstream: () => Promise<void>;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream(({ model }, _req, res) => {
    if (model === 'broken') return void res.writeHead(500).end('{}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'up',
        object: 'chat.completion',
        created: 1,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: `from ${model}` }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
      }),
    );
  }));
});
afterAll(() => closeUpstream());

const CODE = [
  'Write a python function that reverses a linked list.',
  'Implement binary search in Rust.',
  'Write a SQL query for the top 5 customers by revenue.',
  'Fix this JavaScript: const x = [1,2,3].mapp(x => x*2)',
  'Write a bash script that renames all .txt files.',
];

function config(url: string, extra: Record<string, unknown> = {}) {
  const model = (id: string, quality: number, price: number) => ({
    id,
    provider: { kind: 'openai', baseUrl, retries: 0 },
    cost: { inputPer1k: price, outputPer1k: price },
    strengths: { general: quality, code: quality },
  });
  return {
    models: [model('broken', 0.99, 0.02), model('good', 0.9, 0.01), model('cheap', 0.5, 0.0005)],
    routing: { strategy: 'quality' },
    store: { url, flushMs: 50, ...extra },
  };
}
const open = async (url: string, extra: Record<string, unknown> = {}) =>
  createArbiter(config(url, extra), { backend, embedder: await embedder, gate: { backoffBaseMs: 1 } });
const ask = (a: Arbiter, content: string, keyId?: string) =>
  a.complete({ model: 'auto', messages: [{ role: 'user', content }] }, keyId ? { keyId } : {});

async function sqliteUrl() {
  return `sqlite:${join(await mkdtemp(join(tmpdir(), 'arbiter-store-')), 'arbiter.db')}`;
}

const dialects: Array<{ name: string; url: () => Promise<{ url: string; drop: () => Promise<void> }> }> = [
  { name: 'sqlite', url: async () => ({ url: await sqliteUrl(), drop: async () => {} }) },
];
if (await postgresAvailable()) dialects.push({ name: 'postgres', url: freshPgDatabase });

describe.each(dialects)('outcome store ($name)', ({ url: makeUrl }) => {
  let db: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    db = await makeUrl();
  });
  afterAll(async () => db.drop());

  it('records each request and its calls; reads them back with stats and spend', async () => {
    const a = await open(db.url, { prompts: 'full' });
    const r = await ask(a, 'What is the capital of France?', 'key-a');
    expect(r.model).toBe('good');
    const row = await a.request(r.id);
    expect(row).toMatchObject({
      id: r.id,
      kind: 'complete',
      status: 'ok',
      model: 'good',
      decision_model: 'broken',
      strategy: 'quality',
      key_id: 'key-a',
      fallbacks: 'broken',
      prompt: 'What is the capital of France?',
      answer: 'from good',
    });
    expect(row!.calls.map((c) => [c.attempt, c.model, c.status, c.code])).toEqual([
      [1, 'broken', 'error', ErrorCodes.UPSTREAM_ERROR],
      [2, 'good', 'ok', null],
    ]);
    expect(row!.cost).toBeCloseTo((100 * 0.01 + 50 * 0.01) / 1000, 12);
    expect(row!.prompt_hash).toMatch(/^[0-9a-f]{16}$/);
    for (let i = 0; i < 3; i++) await ask(a, `Question ${i}?`, 'key-b');
    const s = await a.stats({});
    const good = s.models.filter((m) => m.model === 'good');
    expect(good.reduce((n, m) => n + m.requests, 0)).toBe(4);
    expect(good.reduce((n, m) => n + m.errors, 0)).toBe(0);
    expect(s.spend.find((k) => k.keyId === 'key-b')!.requests).toBe(3);
    await a.close();
  });

  it('feedback by request id: one per source, owners only, typed errors for bad input', async () => {
    const a = await open(db.url);
    const r = await ask(a, 'Summarise the causes of the French revolution.', 'owner');
    expect(await a.rate(r.id, { score: 0.8 })).toMatchObject({
      requestId: r.id,
      score: 0.8,
      source: 'user',
      learned: true,
    });
    expect(await a.rate(r.id, { rating: 2 })).toMatchObject({ score: 0.25, source: 'user' }); // replaces the first
    expect(await a.rate(r.id, { thumbs: 'up', source: 'judge' })).toMatchObject({ score: 1, source: 'judge' });
    await expect(a.rate(r.id, { score: 1 }, { keyId: 'someone-else' })).rejects.toMatchObject({
      code: ErrorCodes.FORBIDDEN,
    });
    await expect(a.rate(r.id, { score: 1 }, { keyId: 'owner' })).resolves.toMatchObject({ score: 1 });
    await expect(a.rate('no-such-request', { score: 1 })).rejects.toMatchObject({
      code: ErrorCodes.NOT_FOUND,
      param: 'request_id',
    });
    await expect(a.rate(r.id, { score: 1.5 })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
      param: 'score',
    });
    await expect(a.rate(r.id, { score: 1, rating: 5 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    const row = await a.request(r.id);
    expect(row!.feedback.map((f) => [f.source, f.score])).toEqual(
      expect.arrayContaining([
        ['user', 1],
        ['judge', 1],
      ]),
    );
    expect(row!.feedback).toHaveLength(2);
    const q = (await a.stats({ model: r.model, ...(row!.task ? { task: row!.task } : {}) })).models[0]!.quality!;
    expect(q.mean).toBeCloseTo(1, 9); // both sources rated it 1
    expect(q.low).toBeLessThanOrEqual(1);
    await a.close();
  });

  it('concurrent writers: batches sharing rollup rows do not deadlock, and racing ratings count once', async () => {
    const s = (await openStore(db.url))!;
    const now = Date.now();
    const rec = (i: number, b: number): StoredRecord => {
      const model = ['m1', 'm2', 'm3', 'm4'][(i + b) % 4]!; // each batch meets the rollup rows in another order
      return {
        request: {
          id: `cw-${b}-${i}`,
          ts: now - ((i * 7 + b) % 5) * 3_600_000,
          kind: 'complete',
          key_id: `k${i % 3}`,
          task: ['code', 'math'][i % 2]!,
          model,
          decision_model: model,
          strategy: 'balanced',
          predicted_quality: null,
          predicted_cost: null,
          decode_strategy: null,
          status: 'ok',
          code: null,
          latency_ms: 10,
          cost: 0.001,
          prompt_tokens: 5,
          completion_tokens: 5,
          calls: 0,
          fallbacks: null,
          prompt_hash: null,
        },
        calls: [],
      };
    };
    const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 120 }, (_, i) => rec(i, b)));
    await Promise.all(batches.map((b) => s.write(b.reverse())));
    const stats = await s.stats({ since: now - 6 * 3_600_000 });
    expect(stats.filter((r) => /^m\d$/.test(r.model)).reduce((n, r) => n + r.requests, 0)).toBe(8 * 120);
    // eight ratings of one request from one source at once: one rating, the last one's score
    await Promise.all(
      [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8].map((score) =>
        s.feedback({ request_id: 'cw-0-0', source: 'user', score, comment: null, ts: now, key_id: null }),
      ),
    );
    const [row] = await s.stats({ since: now - 6 * 3_600_000, model: 'm1', task: 'code' });
    expect(row!.rated).toBe(1);
    const stored = (await s.request('cw-0-0'))!.feedback;
    expect(stored).toHaveLength(1);
    expect(row!.quality!.mean).toBeCloseTo(stored[0]!.score, 9);
    await s.close();
  });

  it('what feedback taught the router survives a restart', async () => {
    const predictions = async (x: Arbiter) =>
      Object.fromEntries((await x.route(CODE[1]!)).alternatives.map((c) => [c.model, c.quality]));
    const fresh = await open('none');
    const untaught = await predictions(fresh);
    await fresh.close();
    const a = await open(db.url);
    // eleven ratings of each model on code prompts: `cheap` excellent, the others useless
    for (let i = 0; i < 11; i++)
      for (const model of ['cheap', 'broken', 'good'])
        await a.feedback({ prompt: CODE[i % CODE.length]!, model, quality: model === 'cheap' ? 1 : 0 });
    const taught = await predictions(a);
    expect(taught.cheap!).toBeGreaterThan(untaught.cheap! + 0.05);
    expect(taught.broken!).toBeLessThan(untaught.broken! - 0.05);
    await a.close();
    const b = await open(db.url); // a restart: the learned points come back from the store
    const restored = await predictions(b);
    for (const m of ['cheap', 'broken', 'good']) expect(restored[m], m).toBeCloseTo(taught[m]!, 9);
    await b.close();
  });
});

describe('outcome store: schema versions and failures', () => {
  it('refuses a database whose schema is newer than the code', async () => {
    const url = await sqliteUrl();
    const s = (await openStore(url))!;
    await s.db.updateTable('arbiter_meta').set({ value: '99' }).where('key', '=', 'schema_version').execute();
    await s.close();
    await expect(openStore(url)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
      message: expect.stringContaining('newer than this arbiter'),
    });
  });

  it('rollups: a replayed batch is not counted twice; migration 2 backfills them from a version-1 database', async () => {
    const url = await sqliteUrl();
    const rec = (i: number, model: string, status = 'ok'): StoredRecord => ({
      request: {
        id: `q${i}`,
        ts: Date.now() - i * 1000,
        kind: 'complete',
        key_id: i % 2 ? 'k1' : null,
        task: 'code',
        model,
        decision_model: null,
        strategy: null,
        predicted_quality: null,
        predicted_cost: null,
        decode_strategy: null,
        status,
        code: null,
        latency_ms: 10 + i,
        cost: 0.5,
        prompt_tokens: 3,
        completion_tokens: 4,
        calls: 0,
        fallbacks: null,
        prompt_hash: null,
      },
      calls: [],
    });
    // a version-1 database with rows and a rating, as an earlier arbiter left it
    const v1 = new Kysely<never>({
      dialect: new SqliteDialect({ database: new BetterSqlite3(url.slice('sqlite:'.length)) }),
    });
    await MIGRATIONS[0]!.up(v1 as never, 'sqlite');
    await v1.schema
      .createTable('arbiter_meta')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text')
      .execute();
    await (v1 as unknown as Kysely<Database>)
      .insertInto('arbiter_meta')
      .values({ key: 'schema_version', value: '1' })
      .execute();
    const raw = v1 as unknown as Kysely<Database>;
    await raw
      .insertInto('requests')
      .values([rec(1, 'a').request, rec(2, 'a', 'error').request, rec(3, 'b').request])
      .execute();
    await raw
      .insertInto('feedback')
      .values([
        { request_id: 'q1', source: 'user', score: 1, comment: null, ts: Date.now(), key_id: null },
        { request_id: 'q1', source: 'judge', score: 0.5, comment: null, ts: Date.now(), key_id: null },
      ])
      .execute();
    await v1.destroy();
    const store = (await openStore(url))!; // migrates to 2: rollups backfilled
    const a = () => store.stats({}).then((rows) => rows.find((r) => r.model === 'a')!);
    expect(await a()).toMatchObject({ requests: 2, errors: 1, rated: 2, cost: 1, quality: { mean: 0.75 } });
    // new rows count once, however often their batch is written
    await store.write([rec(4, 'a'), rec(5, 'a')]);
    await store.write([rec(4, 'a'), rec(5, 'a')]);
    expect((await a()).requests).toBe(4);
    // a rating replaced by the same source moves the sums, not the count
    await store.feedback({ request_id: 'q4', source: 'user', score: 0, comment: null, ts: Date.now(), key_id: null });
    await store.feedback({ request_id: 'q4', source: 'user', score: 1, comment: null, ts: Date.now(), key_id: null });
    expect(await a()).toMatchObject({ rated: 3, quality: { mean: (1 + 0.5 + 1) / 3 } });
    expect((await store.spend()).find((k) => k.keyId === 'k1')).toMatchObject({ requests: 3 });
    await store.close();
  });

  it('spools batches while writes fail and replays them, in order, when writes succeed again', async () => {
    const url = await sqliteUrl();
    const sql = (await openStore(url))!;
    let failing = true;
    const flaky = Object.assign(Object.create(sql) as SqlStore, {
      write: async (rs: readonly StoredRecord[]) => {
        if (failing) throw new Error('SQLITE_FULL: database or disk is full');
        return sql.write(rs);
      },
    });
    const spool = `${url.slice('sqlite:'.length)}.spool.jsonl`;
    const rec = new Recorder(flaky, { flushMs: 60_000, batchRows: 10, maxQueue: 1000, spool, maxSpoolBytes: 1 << 20 });
    const row = (i: number): StoredRecord => ({
      request: {
        id: `r${i}`,
        ts: 1_700_000_000_000 + i,
        kind: 'complete',
        key_id: null,
        task: null,
        model: 'm',
        decision_model: null,
        strategy: null,
        predicted_quality: null,
        predicted_cost: null,
        decode_strategy: null,
        status: 'ok',
        code: null,
        latency_ms: 1,
        cost: 0.001,
        prompt_tokens: 1,
        completion_tokens: 1,
        calls: 0,
        fallbacks: null,
        prompt_hash: null,
      },
      calls: [],
    });
    for (let i = 0; i < 25; i++) rec.add(row(i));
    await rec.flush();
    expect(rec.status).toMatchObject({ status: 'degraded', written: 0, spooled: 25, dropped: 0 });
    for (let i = 25; i < 30; i++) rec.add(row(i));
    failing = false;
    await rec.flush();
    expect(rec.status).toMatchObject({ status: 'ok', written: 30, spooled: 0, dropped: 0 });
    expect(await sql.count()).toBe(30);
    // a full queue drops and counts
    const small = new Recorder(sql, { flushMs: 60_000, batchRows: 100, maxQueue: 2, maxSpoolBytes: 0 });
    for (let i = 100; i < 105; i++) small.add(row(i));
    expect(small.status).toMatchObject({ queued: 2, dropped: 3 });
    await small.close();
    await rec.close();
    await sql.close();
  });
});

describe('outcome store over HTTP', () => {
  it('x-request-id, feedback by request id for a client key, GET /v1/requests/:id, /v1/stats and /health', async () => {
    const a = await open(await sqliteUrl());
    const app = await buildGateway({ arbiter: a, auth: { clientKeys: ['c1', 'c2'], adminKeys: ['adm'] } });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const post = (path: string, body: unknown, key: string) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify(body),
      });
    const r = await post(
      '/v1/chat/completions',
      { model: 'auto', messages: [{ role: 'user', content: 'hello' }] },
      'c1',
    );
    const id = r.headers.get('x-request-id')!;
    expect(((await r.json()) as { id: string }).id).toBe(id);
    expect((await post('/v1/feedback', { request_id: id, rating: 5 }, 'c1')).status).toBe(200);
    expect((await post('/v1/feedback', { request_id: id, rating: 5 }, 'c2')).status).toBe(403);
    expect((await post('/v1/feedback', { request_id: id, score: 2 }, 'c1')).status).toBe(400);
    expect((await post('/v1/feedback', { request_id: 'nope', score: 1 }, 'adm')).status).toBe(404);
    expect((await post('/v1/feedback', { prompt: 'hello', model: 'good', quality: 1 }, 'c1')).status).toBe(403);
    const get = (path: string, key: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    const rec = (await (await get(`/v1/requests/${id}`, 'c1')).json()) as { id: string; feedback: unknown[] };
    expect(rec).toMatchObject({ id, feedback: [expect.objectContaining({ source: 'user', score: 1 })] });
    expect((await get(`/v1/requests/${id}`, 'c2')).status).toBe(404);
    const stats = (await (await get('/v1/stats', 'adm')).json()) as {
      models: Array<{ model: string; requests: number; rated: number }>;
    };
    expect(stats.models.find((m) => m.model === 'good')).toMatchObject({ requests: 1, rated: 1 });
    expect((await get('/v1/stats?since=yesterday-ish', 'adm')).status).toBe(400);
    // a routing decision is recorded too (kind route), and can be rated by its id; it made no call,
    // so it adds nothing to its model's volume, latency or cost — only its rating counts
    const routed = await post('/v1/route', { prompt: 'Write a haiku about routers.' }, 'c2');
    const decision = (await routed.json()) as { id: string; model: string };
    expect(routed.headers.get('x-request-id')).toBe(decision.id);
    expect((await post('/v1/feedback', { request_id: decision.id, thumbs: 'down' }, 'c2')).status).toBe(200);
    const routeRec = (await (await get(`/v1/requests/${decision.id}`, 'c2')).json()) as Record<string, unknown>;
    expect(routeRec).toMatchObject({ kind: 'route', model: decision.model, decision_model: decision.model, calls: [] });
    // ?fields=: the named fields and the id, not the whole decision; an unknown field is a 400 naming it
    const few = await post('/v1/route?fields=model,confidence', { prompt: 'Write a haiku about routers.' }, 'c2');
    expect(Object.keys((await few.json()) as object)).toEqual(['id', 'model', 'confidence']);
    const bad = await post('/v1/route?fields=model,colour', { prompt: 'x' }, 'c2');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/unknown colour/);
    const after = (await (await get('/v1/stats', 'adm')).json()) as typeof stats;
    expect(after.models.find((m) => m.model === decision.model)).toMatchObject({ requests: 0, rated: 1 });
    const health = (await (await fetch(`${url}/health`)).json()) as { store: { status: string } };
    expect(health.store.status).toBe('ok');
    await app.close();
  });

  it('the library facade can open a store object directly', async () => {
    const s = await OutcomeStore.open({
      url: 'sqlite::memory:',
      prompts: 'none',
      flushMs: 50,
      batchRows: 10,
      maxQueue: 100,
      maxSpoolBytes: 0,
    });
    expect(s).toBeDefined();
    await s!.close();
  });
});

describe('outcome store from the command line', () => {
  it('arbiter stats --json, arbiter export (training JSONL), store migrate and purge', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-store-cli-'));
    const yaml = `models:\n${['good', 'cheap'].map((id) => `  - id: ${id}\n    provider: { kind: openai, baseUrl: "${baseUrl}", retries: 0 }\n    cost: { inputPer1k: 0.001, outputPer1k: 0.002 }\n`).join('')}store: { url: "sqlite:./data/outcomes.db", prompts: full, flushMs: 50 }\n`;
    const cfgPath = join(dir, 'arbiter.yaml');
    await writeFile(cfgPath, yaml);
    const a = await createArbiter(cfgPath, { backend, embedder: await embedder });
    const ids: string[] = [];
    for (const q of ['What is 2 + 2?', 'Name a prime number above 10.', 'Translate "cat" to French.'])
      ids.push((await ask(a, q)).id);
    await a.rate(ids[0]!, { thumbs: 'up' });
    await a.rate(ids[1]!, { rating: 1 });
    await a.close();
    const run = promisify(execFile);
    const bin = new URL('../bin/arbiter.js', import.meta.url).pathname;
    const stats = JSON.parse((await run(process.execPath, [bin, 'stats', '--config', cfgPath, '--json'])).stdout) as {
      models: Array<{ requests: number; rated: number }>;
    };
    expect(stats.models.reduce((n, m) => n + m.requests, 0)).toBe(3);
    expect(stats.models.reduce((n, m) => n + m.rated, 0)).toBe(2);
    const out = join(dir, 'export.jsonl');
    const { stderr } = await run(process.execPath, [bin, 'export', '--config', cfgPath, '--out', out]);
    expect(stderr).toContain('2 rated requests');
    const records = await loadJsonl(out); // what `arbiter train --format jsonl` reads
    expect(records.map((r) => [r.prompt, Object.values(r.outcomes)[0]])).toEqual([
      ['What is 2 + 2?', 1],
      ['Name a prime number above 10.', 0],
    ]);
    expect((await run(process.execPath, [bin, 'store', 'migrate', '--config', cfgPath])).stderr).toContain(
      `schema version ${SCHEMA_VERSION}`,
    );
    expect(
      (await run(process.execPath, [bin, 'store', 'purge', '--config', cfgPath, '--older-than', '1d'])).stderr,
    ).toContain('deleted 0 requests');
    await expect(run(process.execPath, [bin, 'stats', '--config', cfgPath, '--since', 'soon'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('ARB_INVALID_ARGUMENT'),
    });
  });
});

describe('the SQLite writer thread (the compiled package)', () => {
  it('writes batches off the event loop when the package runs from dist/', async () => {
    // under the test runner src/ is TypeScript and the writer thread has no .js to start: use the build
    const dist = (await import(new URL('../dist/src/store/index.js', import.meta.url).href)) as typeof StoreModule;
    const url = await sqliteUrl();
    const store = (await dist.OutcomeStore.open({ url, flushMs: 20 }))!;
    expect(store.writesOffThread).toBe(true);
    for (let i = 0; i < 120; i++)
      store.record({
        id: `w${i}`,
        time: Date.now(),
        kind: 'complete',
        calls: [],
        fallbacks: [],
        model: 'm',
        status: 'ok',
        latencyMs: 1,
        cost: 0.001,
        promptTokens: 1,
        completionTokens: 1,
        decision: { model: 'm', task: 'code', strategy: 'quality', reason: 'r' },
      });
    await store.flush();
    expect(await store.sql.count()).toBe(120);
    expect((await store.stats({})).find((r) => r.model === 'm')).toMatchObject({ requests: 120 });
    expect(store.status).toMatchObject({ status: 'ok', written: 120 });
    await store.close();
  });
});
