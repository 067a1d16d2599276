/**
 * The dashboard's data API at volume: a SQLite store of N generated requests (default 10,000,000,
 * one call each) over 30 days — 6 models, 8 tasks, 20 keys, log-normal latencies, 5% errors, 30%
 * rated — with the rollups and series the write path keeps, computed by the same code. A gateway
 * over it answers each endpoint the page polls, over HTTP, 40 times after a warm-up: p50 and p95
 * per endpoint. Target: p95 ≤ 200 ms at 10M rows.
 *   npm run bench -- dashboard            (ARBITER_BENCH_ROWS=1000000 for a quicker run)
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import BetterSqlite3 from 'better-sqlite3';

import { createArbiter } from '../src/index.js';
import { buildGateway } from '../src/server/index.js';
import { openStore, type StoredRecord } from '../src/store/index.js';
import { addRequest, addToRollups } from '../src/store/rollups.js';
import { addToSeries, SeriesSums } from '../src/store/series.js';
import type { RollupsTable } from '../src/store/schema.js';
import { seededRandom } from '../src/stats/index.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

const N = Number(process.env.ARBITER_BENCH_ROWS ?? 10_000_000);
const DAYS = 30;
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet', 'claude-haiku', 'llama-70b', 'mixtral'];
const TASKS = ['code', 'math', 'knowledge', 'reasoning', 'creative', 'conversation', 'extraction', 'general'];
const KEYS = Array.from({ length: 20 }, (_, i) => `key${String(i).padStart(2, '0')}`);
const REPS = 40;

const dir = mkdtempSync(join(tmpdir(), 'arbiter-dash-bench-'));
const file = join(dir, 'arbiter.db');
const store = (await openStore(`sqlite:${file}`))!; // the schema, migrated
await store.close();

// generate: requests and calls by prepared statements (the store's own batch writer would take
// an hour for 10M), rollups and series by the write path's own accumulators
const rnd = seededRandom(7);
const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const now = Date.now();
const start = now - DAYS * 86_400_000;
const raw = new BetterSqlite3(file);
raw.pragma('journal_mode = WAL');
raw.pragma('synchronous = OFF');
const insReq = raw.prepare(
  `insert into requests (id, ts, kind, key_id, task, model, decision_model, strategy, predicted_quality, predicted_cost,
   decode_strategy, status, code, latency_ms, cost, prompt_tokens, completion_tokens, calls, fallbacks, prompt_hash, experiment, arm, decision)
   values (?, ?, 'complete', ?, ?, ?, ?, 'balanced', ?, ?, null, ?, ?, ?, ?, ?, ?, 1, ?, null, null, null, ?)`,
);
const insCall = raw.prepare(
  `insert into calls (request_id, attempt, model, status, code, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cost, estimated, phase)
   values (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, 0, null)`,
);
const insFb = raw.prepare(
  `insert into feedback (request_id, source, score, comment, ts, key_id) values (?, 'user', ?, null, ?, ?)`,
);
const rollups = new Map<string, RollupsTable>();
const series = new SeriesSums();
const t0 = performance.now();
const BATCH = 50_000;
let lastDecision: StoredRecord['request'] | undefined;
for (let b = 0; b < N; b += BATCH) {
  raw.transaction(() => {
    for (let i = b; i < Math.min(N, b + BATCH); i++) {
      const ts = start + Math.floor((i / N) * DAYS * 86_400_000);
      const m = MODELS[Math.floor(rnd() ** 1.5 * MODELS.length)]!;
      const failed = rnd() < 0.05;
      const latency = Math.exp(6 + 0.6 * normal() + MODELS.indexOf(m) * 0.1);
      const pt = 50 + Math.floor(rnd() * 900);
      const ct = 20 + Math.floor(rnd() * 400);
      const cost = (pt * 0.002 + ct * 0.006) / 1000 / (1 + MODELS.indexOf(m));
      const q: StoredRecord['request'] = {
        id: `req-${i.toString(36).padStart(6, '0')}`,
        ts,
        kind: 'complete',
        key_id: KEYS[Math.floor(rnd() * KEYS.length)]!,
        task: TASKS[Math.floor(rnd() * TASKS.length)]!,
        model: m,
        decision_model: m,
        strategy: 'balanced',
        predicted_quality: 0.7,
        predicted_cost: cost,
        decode_strategy: null,
        status: failed ? 'error' : 'ok',
        code: failed ? 'ARB_UPSTREAM_ERROR' : null,
        latency_ms: latency,
        cost,
        prompt_tokens: pt,
        completion_tokens: ct,
        calls: 1,
        fallbacks: failed ? null : rnd() < 0.02 ? MODELS[0]! : null,
        prompt_hash: null,
        decision: JSON.stringify({ reason: `balanced: ${m} for a prompt`, confidence: 0.4 }),
      };
      insReq.run(
        q.id,
        q.ts,
        q.key_id,
        q.task,
        q.model,
        q.decision_model,
        q.predicted_quality,
        q.predicted_cost,
        q.status,
        q.code,
        q.latency_ms,
        q.cost,
        q.prompt_tokens,
        q.completion_tokens,
        q.fallbacks,
        q.decision,
      );
      const call = { model: m, status: q.status, latency_ms: latency, ttft_ms: rnd() < 0.3 ? latency / 4 : null };
      insCall.run(q.id, m, q.status, q.code, latency, call.ttft_ms, pt, ct, cost);
      addRequest(rollups, q);
      series.add(q, [call]);
      if (!failed && rnd() < 0.3) {
        const score = rnd() < 0.75 ? 1 : 0;
        insFb.run(q.id, score, ts + 1000, q.key_id);
        const r = rollups.get(`${Math.floor(ts / 3_600_000) * 3_600_000}\u0000${m}\u0000${q.task}\u0000${q.key_id}`)!;
        r.rated++;
        r.score_sum += score;
        r.score_sq += score * score;
      }
      lastDecision = q;
    }
  })();
  if ((b / BATCH) % 20 === 0) process.stdout.write(`  generated ${b + BATCH} rows\n`);
}
raw.close();
const s2 = (await openStore(`sqlite:${file}`))!;
await s2.db.transaction().execute(async (tx) => {
  await addToRollups(tx, [...rollups.values()]);
  await addToSeries(tx, series, 'sqlite');
});
await s2.close();
const genSeconds = (performance.now() - t0) / 1000;
const counts = {
  rollups: rollups.size,
  latencyBuckets: series.latency.size,
  events: series.events.size,
  fileMB: statSync(file).size / 2 ** 20,
};
process.stdout.write(`generated ${N} requests in ${genSeconds.toFixed(0)} s: ${JSON.stringify(counts)}\n`);

// a gateway over the store (its models are never called)
const engine = await createArbiter({
  models: MODELS.map((id, i) => ({
    id,
    provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', retries: 0 },
    cost: { inputPer1k: 0.002 / (1 + i), outputPer1k: 0.006 / (1 + i) },
    strengths: { general: 0.9 - i * 0.05 },
  })),
  store: { url: `sqlite:${file}` },
});
const app = await buildGateway({ arbiter: engine, auth: { clientKeys: [], adminKeys: ['bench-admin'] } });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
const endpoints: Array<[string, string]> = [
  ['overview, 24 h', '/dashboard/api/overview?range=24h'],
  ['overview, 7 d', '/dashboard/api/overview?range=7d'],
  ['overview, 30 d', '/dashboard/api/overview?range=30d'],
  ['live state', '/dashboard/api/live'],
  ['recent requests', '/dashboard/api/requests'],
  ['recent requests of one model', `/dashboard/api/requests?model=${MODELS[5]}`],
  ['recent errors', '/dashboard/api/requests?status=error'],
  ['request by id prefix', `/dashboard/api/requests?q=${lastDecision!.id.slice(0, 8)}`],
  ["a request's page", `/dashboard/api/requests/${lastDecision!.id}`],
  ['experiments', '/dashboard/api/experiments'],
  ['comparisons', '/dashboard/api/comparisons'],
];
const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const rows: ResultRow[] = [];
const summary: Record<string, { p50: number; p95: number; bytes: number }> = {};
for (const [name, path] of endpoints) {
  const get = async () => {
    const r = await fetch(`${base}${path}`, { headers: { authorization: 'Bearer bench-admin' } });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${text.slice(0, 200)}`);
    return text.length;
  };
  await get(); // warm-up: statements prepared, pages cached
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < REPS; i++) {
    const t = performance.now();
    bytes = await get();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  summary[name] = { p50: q(ms, 0.5), p95: q(ms, 0.95), bytes };
  rows.push({
    name,
    kind: 'backend',
    Q: REPS,
    medianMs: q(ms, 0.5),
    qps: 1000 / q(ms, 0.5),
    note: `p95 ${q(ms, 0.95).toFixed(1)} ms (target ≤ 200); ${(bytes / 1024).toFixed(1)} KiB`,
  });
}
await app.close();
printTable(`dashboard data API over ${N.toLocaleString('en-US')} stored requests (SQLite)`, rows, 'req/s');
const worst = Math.max(...Object.values(summary).map((s) => s.p95));
process.stdout.write(`summary: worst p95 ${worst.toFixed(1)} ms over ${N} rows\n`);
process.stdout.write(
  `wrote ${writeResults('dashboard', { shape: { rows: N, days: DAYS, models: MODELS.length, tasks: TASKS.length, keys: KEYS.length, reps: REPS }, generate: { seconds: genSeconds, ...counts }, results: rows, summary, worstP95Ms: worst })}\n`,
);
process.exit(0);
