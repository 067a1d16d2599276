/**
 * The outcome store's speed:
 *   1. request path: what `record()` costs a request (mapping the event to rows and queueing it),
 *      per call, p50 and p99 over 100,000 events;
 *   2. ingest: request records (each with two calls) through the real write path — record() into
 *      the Recorder, batches of 500 in one transaction — into SQLite (a temp file, WAL, the writer
 *      thread) and PostgreSQL (a fresh database, two batches at once);
 *   3. the stats query (7 days × all models × tasks) over N synthetic request rows.
 *   npm run bench -- store        (BENCH_STORE_ROWS: rows for 3, default 1,000,000; BENCH_PG: the server)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import {
  openStore,
  OutcomeStore,
  toStored,
  type OutcomeEvent,
  type SqlStore,
  type StoredRecord,
} from '../src/store/index.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

const ROWS = Number(process.env.BENCH_STORE_ROWS ?? 1_000_000);
const PG = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MODELS = ['gpt-4o', 'claude-sonnet', 'llama-70b', 'mistral-small', 'qwen-7b'];
const TASKS = ['code', 'math', 'reasoning', 'knowledge', 'creative', 'conversation'];
const rows: ResultRow[] = [];
const summary: Record<string, unknown> = {};

function event(i: number, now: number): OutcomeEvent {
  const model = MODELS[i % MODELS.length]!;
  return {
    id: `bench-${i.toString(36)}-${now.toString(36)}`,
    time: now - (i % (14 * 86_400)) * 1000,
    kind: 'complete',
    decision: {
      model,
      task: TASKS[i % TASKS.length]!,
      strategy: 'balanced',
      reason: 'best balanced score',
      predictedQuality: 0.8,
      predictedCost: 0.0012,
    },
    calls: [
      {
        model: MODELS[(i + 1) % MODELS.length]!,
        attempt: 1,
        status: 'error',
        code: 'ARB_UPSTREAM_ERROR',
        latencyMs: 120.5,
        promptTokens: 0,
        completionTokens: 0,
        cost: 0,
      },
      {
        model,
        attempt: 2,
        status: 'ok',
        latencyMs: 850.25,
        ttftMs: 210.5,
        promptTokens: 420,
        completionTokens: 180,
        cost: 0.00123,
      },
    ],
    fallbacks: [MODELS[(i + 1) % MODELS.length]!],
    model,
    status: 'ok',
    latencyMs: 975.125,
    cost: 0.00123,
    promptTokens: 420,
    completionTokens: 180,
    keyId: `key${i % 7}`,
    prompt: `Explain topic number ${i} in two sentences.`,
    answer: 'A short answer.',
  };
}

// 1. the request path
{
  const store = (await OutcomeStore.open({
    url: 'sqlite::memory:',
    prompts: 'hash',
    flushMs: 60_000,
    batchRows: 1_000_000,
    maxQueue: 1_000_000,
    maxSpoolBytes: 0,
  }))!;
  const now = Date.now();
  const events = Array.from({ length: 100_000 }, (_, i) => event(i, now));
  for (let i = 0; i < 2000; i++) store.record(events[i]!); // warm-up
  const t = new Float64Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const t0 = performance.now();
    store.record(events[i]!);
    t[i] = (performance.now() - t0) * 1000;
  }
  t.sort();
  const p50 = t[Math.floor(0.5 * t.length)]!;
  const p99 = t[Math.floor(0.99 * t.length)]!;
  rows.push({
    name: 'record() on the request path',
    kind: 'backend',
    Q: t.length,
    medianMs: p50 / 1000,
    qps: 1e6 / p50,
    note: `p50 ${p50.toFixed(2)} µs, p99 ${p99.toFixed(2)} µs (map to rows + queue; no I/O)`,
  });
  summary.recordP50Us = p50;
  summary.recordP99Us = p99;
  await store.close();
}

/** Sustained ingest through the real write path: record() into the Recorder, which writes batches of 500. */
async function ingest(name: string, url: string, n: number): Promise<number> {
  const store = (await OutcomeStore.open({
    url,
    prompts: 'hash',
    flushMs: 100,
    batchRows: 500,
    maxQueue: n + 1,
    maxSpoolBytes: 0,
  }))!;
  const now = Date.now();
  const events = Array.from({ length: n }, (_, i) => event(i, now));
  const t0 = performance.now();
  for (const e of events) store.record(e);
  await store.flush();
  const perSec = n / ((performance.now() - t0) / 1000);
  const st = store.status;
  await store.close();
  if (st.written !== n || st.dropped)
    throw new Error(`ingest ${name}: wrote ${st.written} of ${n}, dropped ${st.dropped}`);
  rows.push({
    name: `ingest: ${name}`,
    kind: 'backend',
    Q: n,
    medianMs: (1000 * 500) / perSec,
    qps: perSec,
    note: `record() → Recorder → batches of 500 (1 request + 2 calls each), one transaction per batch${store.writesOffThread ? ', writer thread' : ''}`,
  });
  return perSec;
}

async function statsQuery(name: string, store: SqlStore, n: number): Promise<void> {
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    const s = await store.stats({ since: Date.now() - 7 * 86_400_000 });
    times.push(performance.now() - t0);
    if (s.length !== MODELS.length * TASKS.length) throw new Error(`stats returned ${s.length} groups`);
  }
  times.sort((a, b) => a - b);
  rows.push({
    name: `stats query, 7 days, ${n.toLocaleString('en')} rows: ${name}`,
    kind: 'backend',
    Q: n,
    medianMs: times[2]!,
    qps: 1000 / times[2]!,
    note: `${MODELS.length * TASKS.length} model × task groups; median of 5`,
  });
  summary[`stats${name}Ms`] = times[2];
}

/** Fills the store to n rows (fast path: bulk generate_series / recursive inserts are not used; the Recorder's own batches). */
async function fill(store: SqlStore, have: number, n: number): Promise<void> {
  const now = Date.now();
  for (let i = have; i < n; i += 5000)
    await store.write(
      Array.from(
        { length: Math.min(5000, n - i) },
        (_, j) => ({ ...toStored(event(i + j, now), 'none'), calls: [] }) as StoredRecord,
      ),
    );
}

// 2 and 3: SQLite
{
  const file = join(mkdtempSync(join(tmpdir(), 'arbiter-bench-store-')), 'bench.db');
  summary.ingestSqlitePerSec = await ingest('SQLite (file, WAL)', `sqlite:${file}`, 100_000);
  const store = (await openStore(`sqlite:${file}`))!;
  await fill(store, 100_000, ROWS);
  await statsQuery('SQLite', store, ROWS);
  await store.close();
}

// 2 and 3: PostgreSQL, when reachable
{
  const admin = new pg.Client({ connectionString: PG, connectionTimeoutMillis: 2000 });
  const name = `arbiter_bench_${Date.now().toString(36)}`;
  let ok = true;
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } catch (e) {
    ok = false;
    process.stdout.write(`PostgreSQL not reachable (${(e as Error).message}): its rows are left out\n`);
  }
  if (ok) {
    const url = new URL(PG);
    url.pathname = `/${name}`;
    summary.ingestPostgresPerSec = await ingest('PostgreSQL', url.toString(), 50_000);
    const store = (await openStore(url.toString()))!;
    const pgRows = Math.min(ROWS, 1_000_000);
    await fill(store, 50_000, pgRows);
    await statsQuery('PostgreSQL', store, pgRows);
    await store.close();
    await admin.query(`drop database ${name} with (force)`);
  }
  await admin.end().catch(() => {});
}

printTable('outcome store', rows, 'per second');
process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
process.stdout.write(
  `wrote ${writeResults('store', { shape: { rows: ROWS, models: MODELS.length, tasks: TASKS.length }, results: rows, summary })}\n`,
);
