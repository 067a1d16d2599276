/**
 * The gateway under load, with autocannon on loopback (one process per side would be fairer; on
 * this 2-core machine everything shares the cores, so read the ratios):
 *   1. /v1/route throughput against a bare Fastify hello-world, same connections and duration;
 *   2. overhead: /v1/chat/completions through arbiter (a direct model id, and model "auto")
 *      against the same OpenAI-compatible upstream called directly, at a fixed 500 requests/s;
 *   3. soak: a fixed rate for BENCH_SOAK_S seconds (default 600) sampling RSS, counting every
 *      response (lost = sent − answered).
 *   npm run bench -- gateway        (BENCH_SOAK_S=0 skips the soak)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import autocannon from 'autocannon';
import Fastify from 'fastify';

import { createRouter, createUpstreams, selectBackend, validateConfig } from '../src/index.js';
import { buildGateway } from '../src/server/index.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

const soakS = Number(process.env.BENCH_SOAK_S ?? 600);

// an upstream that answers at once
const completion = JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(completion) }).end(completion));
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const upUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

const hello = Fastify();
hello.post('/hello', async () => ({ hello: 'world' }));
const helloUrl = await hello.listen({ host: '127.0.0.1', port: 0 });

const { backend } = await selectBackend();
const cfg = validateConfig(
  {
    models: [
      { id: 'fast', provider: { kind: 'openai', baseUrl: `${upUrl}/v1` }, cost: { inputPer1k: 0.0002, outputPer1k: 0.0006 }, maxConcurrent: 256 },
      { id: 'strong', provider: { kind: 'openai', baseUrl: `${upUrl}/v1` }, cost: { inputPer1k: 0.01, outputPer1k: 0.03 }, maxConcurrent: 256, strengths: { general: 0.9 } },
    ],
  },
  'bench',
);
const gw = await buildGateway({ router: await createRouter(cfg, { backend }), upstreams: await createUpstreams(cfg), backend: backend.name });
const gwUrl = await gw.listen({ host: '127.0.0.1', port: 0 });

const prompt = 'Write a python function that merges two sorted lists into one sorted list.';
const chatBody = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: prompt }] });
const run = (o: autocannon.Options) => autocannon({ connections: 16, duration: 8, ...o, headers: { 'content-type': 'application/json' } });

const rows: ResultRow[] = [];
const row = (name: string, kind: ResultRow['kind'], r: autocannon.Result, note?: string): ResultRow => ({
  name,
  kind,
  Q: r.requests.total,
  medianMs: r.latency.p50,
  qps: r.requests.average,
  note: `p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, errors ${r.errors + r.non2xx}${note ? `; ${note}` : ''}`,
});

// 1. throughput: alternate the two twice, keep each one's best-of-two median
const hw: autocannon.Result[] = [];
const rt: autocannon.Result[] = [];
for (let pass = 0; pass < 2; pass++) {
  hw.push(await run({ url: `${helloUrl}/hello`, method: 'POST', body: '{}' }));
  rt.push(await run({ url: `${gwUrl}/v1/route`, method: 'POST', body: JSON.stringify({ prompt }) }));
}
const best = (xs: autocannon.Result[]) => xs.reduce((a, b) => (b.requests.average > a.requests.average ? b : a));
const hwBest = best(hw);
const rtBest = best(rt);
rows.push(row('Fastify hello-world', 'ceiling', hwBest));
rows.push(row('arbiter /v1/route', 'backend', rtBest, `${((100 * rtBest.requests.average) / hwBest.requests.average).toFixed(0)}% of hello-world`));

// 2. overhead at a fixed 500 requests/s
const rate = { connections: 32, overallRate: 500, duration: 10 };
const direct = await run({ ...rate, url: `${upUrl}/v1/chat/completions`, method: 'POST', body: chatBody('fast') });
const viaId = await run({ ...rate, url: `${gwUrl}/v1/chat/completions`, method: 'POST', body: chatBody('fast') });
const viaAuto = await run({ ...rate, url: `${gwUrl}/v1/chat/completions`, method: 'POST', body: chatBody('auto') });
rows.push(row('upstream called directly, 500 req/s', 'peer', direct));
rows.push(row('through arbiter, model id, 500 req/s', 'backend', viaId, `overhead p50 ${(viaId.latency.p50 - direct.latency.p50).toFixed(2)} ms, p99 ${(viaId.latency.p99 - direct.latency.p99).toFixed(2)} ms`));
rows.push(row('through arbiter, model auto, 500 req/s', 'backend', viaAuto, `overhead p50 ${(viaAuto.latency.p50 - direct.latency.p50).toFixed(2)} ms, p99 ${(viaAuto.latency.p99 - direct.latency.p99).toFixed(2)} ms`));

// 3. soak
let soak: Record<string, unknown> | null = null;
if (soakS > 0) {
  const rss: Array<{ s: number; mb: number }> = [];
  const t0 = Date.now();
  const timer = setInterval(() => rss.push({ s: Math.round((Date.now() - t0) / 1000), mb: Math.round(process.memoryUsage().rss / 2 ** 20) }), 5000);
  const counted = async () => {
    const text = await (await fetch(`${gwUrl}/metrics`)).text();
    const byStatus: Record<string, number> = {};
    for (const m of text.matchAll(/^arbiter_requests_total\{route="\/v1\/chat\/completions",status="(\d+)"\} (\d+)/gm)) byStatus[m[1]!] = Number(m[2]);
    return byStatus;
  };
  const before = await counted();
  const r = await run({ connections: 32, overallRate: 300, duration: soakS, url: `${gwUrl}/v1/chat/completions`, method: 'POST', body: chatBody('auto') });
  clearInterval(timer);
  await new Promise((res) => setTimeout(res, 2000)); // let requests in flight at the cut finish
  const after = await counted();
  const serverByStatus = Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
  const warm = rss.filter((x) => x.s >= Math.min(60, soakS / 5));
  const first = warm[0]?.mb ?? 0;
  const last = warm.at(-1)?.mb ?? 0;
  // lost = requests the gateway received minus those it answered (it counts every response it sends)
  const received = Object.values(serverByStatus).reduce((a, b) => a + b, 0);
  soak = { seconds: soakS, rate: 300, clientSent: r.requests.sent, clientAnswered: r.requests.total, serverAnswered: received, serverByStatus, errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, clientStatusCodes: r.statusCodeStats, rssAfterWarmupMB: first, rssEndMB: last, rssGrowthPct: first ? (100 * (last - first)) / first : null, rss };
  rows.push(row(`soak ${soakS} s at 300 req/s (model auto)`, 'backend', r, `RSS ${first} -> ${last} MB after warm-up; answered by status ${JSON.stringify(serverByStatus)}`));
}

printTable('Gateway on loopback (autocannon; gateway, upstream and load generator share the 2 cores)', rows, 'requests/s');
const summary = {
  routeOverHelloWorld: rtBest.requests.average / hwBest.requests.average,
  overheadP50MsId: viaId.latency.p50 - direct.latency.p50,
  overheadP99MsId: viaId.latency.p99 - direct.latency.p99,
  overheadP50MsAuto: viaAuto.latency.p50 - direct.latency.p50,
  overheadP99MsAuto: viaAuto.latency.p99 - direct.latency.p99,
  soak,
};
process.stdout.write(`summary: ${JSON.stringify({ ...summary, soak: soak ? { ...soak, rss: undefined } : null })}\nwrote ${writeResults('gateway', { shape: { prompt, connections: 16 }, results: rows, summary })}\n`);
await gw.close();
await hello.close();
upstream.close();
