/**
 * The gateway under load on loopback. The load generators and the upstream run in worker threads
 * (their own event loops and OS threads), so the main thread's event loop is the gateway's (and,
 * for the ceiling, the hello-world's) alone; on this 2-core machine they still share the cores.
 *   1. /v1/route throughput against a bare Fastify hello-world (autocannon, closed loop, same
 *      connections and duration, alternated twice), with the server's CPU time a request (the
 *      process's less the load thread's: on this VM the requests/s move with the hour far more);
 *   2. overhead: /v1/chat/completions through arbiter (a direct model id, and model "auto") against
 *      the same OpenAI-compatible upstream called directly, open loop at a fixed 500 requests/s,
 *      each request timed with performance.now();
 *   3. soak: a fixed rate for BENCH_SOAK_S seconds (default 600) sampling the gateway's RSS,
 *      counting every response (lost = sent − answered).
 *   npm run bench -- gateway        (BENCH_SOAK_S=0 skips the soak)
 */

import type autocannon from 'autocannon';
import Fastify from 'fastify';

import { createRouter, validateConfig } from '../src/index.js';
import { Arbiter } from '../src/engine/index.js';
import { buildGateway } from '../src/server/index.js';
import { inWorker as startWorker } from './lib/workers.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';
import { createUpstreams } from '../src/providers/index.js';
import { selectBackend } from '../src/compute/index.js';

const soakS = Number(process.env.BENCH_SOAK_S ?? 600);
const workerFile = new URL('./lib/load-worker.js', import.meta.url);
const inWorker = <T>(data: { mode: string } & Record<string, unknown>) => startWorker<T>(workerFile, data);

interface RateResult {
  sent: number;
  answered: number;
  errors: number;
  /** Client-side errors by code. */
  errorCodes: Record<string, number>;
  byStatus: Record<string, number>;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  seconds: number;
}

// an upstream that answers at once, in its own thread
const upPort = await inWorker<number>({ mode: 'upstream' });
const upUrl = `http://127.0.0.1:${upPort}`;

const hello = Fastify();
hello.post('/hello', async () => ({ hello: 'world' }));
const helloUrl = await hello.listen({ host: '127.0.0.1', port: 0 });

const { backend } = await selectBackend();
const cfg = validateConfig(
  {
    models: [
      {
        id: 'fast',
        provider: { kind: 'openai', baseUrl: `${upUrl}/v1` },
        cost: { inputPer1k: 0.0002, outputPer1k: 0.0006 },
        maxConcurrent: 256,
      },
      {
        id: 'strong',
        provider: { kind: 'openai', baseUrl: `${upUrl}/v1` },
        cost: { inputPer1k: 0.01, outputPer1k: 0.03 },
        maxConcurrent: 256,
        strengths: { general: 0.9 },
      },
    ],
  },
  'bench',
);
const gw = await buildGateway({
  arbiter: new Arbiter({ router: await createRouter(cfg, { backend }), upstreams: await createUpstreams(cfg) }),
  backend: backend.name,
});
const gwUrl = await gw.listen({ host: '127.0.0.1', port: 0 });

const prompt = 'Write a python function that merges two sorted lists into one sorted list.';
const chatBody = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: prompt }] });
/** An autocannon run, with the server's CPU time a request: the process's less the load thread's (Linux). */
type LoadResult = autocannon.Result & { loadCpuMs: number | null; serverCpuUs?: number };
const run = async (o: autocannon.Options): Promise<LoadResult> => {
  const cpu0 = process.cpuUsage();
  const r = await inWorker<LoadResult>({ mode: 'autocannon', options: { connections: 16, duration: 8, ...o } });
  const cpu = process.cpuUsage(cpu0);
  if (r.loadCpuMs !== null && r.requests.total > 0)
    r.serverCpuUs = (cpu.user + cpu.system - r.loadCpuMs * 1000) / r.requests.total;
  return r;
};
const atRate = (url: string, body: string, rate: number, seconds: number) =>
  inWorker<RateResult>({ mode: 'rate', url, body, rate, seconds, connections: 32 });
const ms = (x: number) => x.toFixed(3);
/** Requests answered per second (autocannon's per-second average is not aggregated from a worker). */
const perSecond = (r: autocannon.Result) => r.requests.total / r.duration;
const rateRow = (name: string, kind: ResultRow['kind'], r: RateResult, note?: string): ResultRow => ({
  name,
  kind,
  Q: r.answered,
  medianMs: r.p50,
  qps: r.answered / r.seconds,
  note: `p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms, errors ${r.errors}${r.errors ? ` ${JSON.stringify(r.errorCodes)}` : ''}, unanswered ${r.sent - r.answered - r.errors}, non-2xx ${Object.entries(
    r.byStatus,
  )
    .filter(([k]) => !k.startsWith('2'))
    .reduce((a, [, v]) => a + v, 0)}${note ? `; ${note}` : ''}`,
});

const rows: ResultRow[] = [];
const cpuNote = (r: LoadResult) =>
  r.serverCpuUs !== undefined ? `, server CPU ${r.serverCpuUs.toFixed(1)} µs a request` : '';
const row = (name: string, kind: ResultRow['kind'], r: LoadResult, note?: string): ResultRow => ({
  name,
  kind,
  Q: r.requests.total,
  medianMs: r.latency.p50,
  qps: perSecond(r),
  note: `p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, errors ${r.errors + r.non2xx}${cpuNote(r)}${note ? `; ${note}` : ''}`,
});

// 1. throughput: alternate the two twice, keep each one's best-of-two median
// (and the compact decision, ?fields=: ~100 bytes instead of ~2 KB)
const hw: LoadResult[] = [];
const rt: LoadResult[] = [];
const rtCompact: LoadResult[] = [];
for (let pass = 0; pass < 2; pass++) {
  hw.push(await run({ url: `${helloUrl}/hello`, method: 'POST', body: '{}' }));
  rt.push(await run({ url: `${gwUrl}/v1/route`, method: 'POST', body: JSON.stringify({ prompt }) }));
  rtCompact.push(
    await run({ url: `${gwUrl}/v1/route?fields=model,confidence`, method: 'POST', body: JSON.stringify({ prompt }) }),
  );
}
const best = (xs: LoadResult[]) => xs.reduce((a, b) => (perSecond(b) > perSecond(a) ? b : a));
const hwBest = best(hw);
const rtBest = best(rt);
const rtCompactBest = best(rtCompact);
rows.push(row('Fastify hello-world', 'ceiling', hwBest));
rows.push(
  row(
    'arbiter /v1/route',
    'backend',
    rtBest,
    `${((100 * perSecond(rtBest)) / perSecond(hwBest)).toFixed(0)}% of hello-world`,
  ),
  row(
    'arbiter /v1/route?fields=model,confidence',
    'backend',
    rtCompactBest,
    `${((100 * perSecond(rtCompactBest)) / perSecond(hwBest)).toFixed(0)}% of hello-world`,
  ),
);

// 2. overhead at a fixed 500 requests/s (open loop, per-request timing): three alternating passes
// of 10 s each; each contender's pass with the median p50 is reported
const passes: Record<'direct' | 'id' | 'auto', RateResult[]> = { direct: [], id: [], auto: [] };
for (let p = 0; p < 3; p++) {
  passes.direct.push(await atRate(`${upUrl}/v1/chat/completions`, chatBody('fast'), 500, 10));
  passes.id.push(await atRate(`${gwUrl}/v1/chat/completions`, chatBody('fast'), 500, 10));
  passes.auto.push(await atRate(`${gwUrl}/v1/chat/completions`, chatBody('auto'), 500, 10));
}
const mid = (rs: RateResult[]) => [...rs].sort((a, b) => a.p50 - b.p50)[1]!;
const medianOf = (rs: RateResult[], k: 'p50' | 'p99') => rs.map((r) => r[k]).sort((a, b) => a - b)[1]!;
const over = (rs: RateResult[], k: 'p50' | 'p99') => medianOf(rs, k) - medianOf(passes.direct, k);
const direct = mid(passes.direct);
rows.push(
  rateRow(
    'upstream called directly, 500 req/s',
    'peer',
    direct,
    `median of 3 passes: p50 ${ms(medianOf(passes.direct, 'p50'))} ms, p99 ${ms(medianOf(passes.direct, 'p99'))} ms`,
  ),
);
rows.push(
  rateRow(
    'through arbiter, model id, 500 req/s',
    'backend',
    mid(passes.id),
    `overhead (medians of 3 passes) p50 ${ms(over(passes.id, 'p50'))} ms, p99 ${ms(over(passes.id, 'p99'))} ms`,
  ),
);
rows.push(
  rateRow(
    'through arbiter, model auto, 500 req/s',
    'backend',
    mid(passes.auto),
    `overhead (medians of 3 passes) p50 ${ms(over(passes.auto, 'p50'))} ms, p99 ${ms(over(passes.auto, 'p99'))} ms`,
  ),
);

// 3. soak
let soak: Record<string, unknown> | null = null;
if (soakS > 0) {
  const rss: Array<{ s: number; mb: number }> = [];
  const t0 = Date.now();
  const timer = setInterval(
    () => rss.push({ s: Math.round((Date.now() - t0) / 1000), mb: Math.round(process.memoryUsage().rss / 2 ** 20) }),
    5000,
  );
  const counted = async () => {
    const text = await (await fetch(`${gwUrl}/metrics`)).text();
    const byStatus: Record<string, number> = {};
    for (const m of text.matchAll(/^arbiter_requests_total\{route="\/v1\/chat\/completions",status="(\d+)"\} (\d+)/gm))
      byStatus[m[1]!] = Number(m[2]);
    return byStatus;
  };
  const before = await counted();
  const r = await atRate(`${gwUrl}/v1/chat/completions`, chatBody('auto'), 300, soakS);
  clearInterval(timer);
  await new Promise((res) => setTimeout(res, 2000)); // let requests in flight at the cut finish
  const after = await counted();
  const serverByStatus = Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
  const warm = rss.filter((x) => x.s >= Math.min(60, soakS / 5));
  const first = warm[0]?.mb ?? 0;
  const last = warm.at(-1)?.mb ?? 0;
  // lost = requests sent minus those answered (the gateway also counts every response it sends)
  const received = Object.values(serverByStatus).reduce((a, b) => a + b, 0);
  soak = {
    seconds: soakS,
    rate: 300,
    clientSent: r.sent,
    clientAnswered: r.answered,
    serverAnswered: received,
    serverByStatus,
    errors: r.errors,
    errorCodes: r.errorCodes,
    lost: r.sent - r.answered,
    clientStatusCodes: r.byStatus,
    rssAfterWarmupMB: first,
    rssEndMB: last,
    rssGrowthPct: first ? (100 * (last - first)) / first : null,
    rss,
  };
  rows.push(
    rateRow(
      `soak ${soakS} s at 300 req/s (model auto)`,
      'backend',
      r,
      `RSS ${first} -> ${last} MB after warm-up; answered by status ${JSON.stringify(serverByStatus)}`,
    ),
  );
}

printTable(
  'Gateway on loopback (load generators and upstream in worker threads; all share the 2 cores)',
  rows,
  'requests/s',
);
const summary = {
  routeOverHelloWorld: perSecond(rtBest) / perSecond(hwBest),
  routeCompactOverHelloWorld: perSecond(rtCompactBest) / perSecond(hwBest),
  // the server's CPU time a request (all its threads, the load generator's excluded; null off Linux)
  serverCpuUs: {
    helloWorld: hwBest.serverCpuUs ?? null,
    route: rtBest.serverCpuUs ?? null,
    routeCompact: rtCompactBest.serverCpuUs ?? null,
  },
  overheadP50MsId: Number(over(passes.id, 'p50').toFixed(3)),
  overheadP99MsId: Number(over(passes.id, 'p99').toFixed(3)),
  overheadP50MsAuto: Number(over(passes.auto, 'p50').toFixed(3)),
  overheadP99MsAuto: Number(over(passes.auto, 'p99').toFixed(3)),
  soak,
};
process.stdout.write(
  `summary: ${JSON.stringify({ ...summary, soak: soak ? { ...soak, rss: undefined } : null })}\nwrote ${writeResults('gateway', { shape: { prompt, connections: 16 }, results: rows, summary })}\n`,
);
await gw.close();
await hello.close();
process.exit(0); // the upstream worker
