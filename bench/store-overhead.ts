/**
 * What recording costs a request through the gateway: two gateways over the same upstream, one
 * recording every request to a SQLite store and one with no store, each driven at 500 requests/s
 * (open loop, per-request timing, load generator and upstream in worker threads), alternating
 * three passes each; medians of the passes' p50 and p99.
 *   npm run bench -- store-overhead
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { selectBackend } from '../src/compute/index.js';
import { createArbiter } from '../src/index.js';
import { buildGateway } from '../src/server/index.js';
import { inWorker as startWorker } from './lib/workers.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

interface RateResult {
  sent: number;
  answered: number;
  errors: number;
  p50: number;
  p99: number;
  seconds: number;
}
const inWorker = <T>(data: { mode: string } & Record<string, unknown>) =>
  startWorker<T>(new URL('./lib/load-worker.js', import.meta.url), data);

const port = await inWorker<number>({ mode: 'upstream' });
const { backend } = await selectBackend();
const config = (store: unknown) => ({
  models: [
    {
      id: 'm',
      provider: { kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` },
      cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
      maxConcurrent: 256,
    },
  ],
  store,
});
const dir = mkdtempSync(join(tmpdir(), 'arbiter-overhead-'));
const on = await buildGateway({
  arbiter: await createArbiter(config({ url: `sqlite:${join(dir, 'o.db')}` }), { backend }),
});
const off = await buildGateway({ arbiter: await createArbiter(config({ url: 'none' }), { backend }) });
const urls = {
  on: await on.listen({ host: '127.0.0.1', port: 0 }),
  off: await off.listen({ host: '127.0.0.1', port: 0 }),
};
const body = JSON.stringify({
  model: 'auto',
  messages: [{ role: 'user', content: 'Summarise the plot of Hamlet in two sentences.' }],
});
const pass = (url: string, seconds: number) =>
  inWorker<RateResult>({ mode: 'rate', url: `${url}/v1/chat/completions`, body, rate: 500, seconds, connections: 32 });

await pass(urls.on, 2); // warm-up
await pass(urls.off, 2);
const res: Record<'on' | 'off', RateResult[]> = { on: [], off: [] };
for (let i = 0; i < 3; i++) for (const k of ['off', 'on'] as const) res[k].push(await pass(urls[k], 8));
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const rows: ResultRow[] = (['off', 'on'] as const).map((k) => ({
  name: `gateway, store ${k === 'on' ? 'on (SQLite)' : 'off'}, 500 req/s`,
  kind: 'backend',
  Q: res[k].reduce((n, r) => n + r.answered, 0),
  medianMs: med(res[k].map((r) => r.p50)),
  qps: 500,
  note: `p50 ${med(res[k].map((r) => r.p50)).toFixed(3)} ms, p99 ${med(res[k].map((r) => r.p99)).toFixed(3)} ms (medians of 3 passes); lost ${res[k].reduce((n, r) => n + r.sent - r.answered, 0)}`,
}));
const recorded = await on.inject({ method: 'GET', url: '/health' });
printTable('recording on the request path (end to end through the gateway)', rows, 'requests/s');
const summary = {
  p50OffMs: med(res.off.map((r) => r.p50)),
  p50OnMs: med(res.on.map((r) => r.p50)),
  p99OffMs: med(res.off.map((r) => r.p99)),
  p99OnMs: med(res.on.map((r) => r.p99)),
  store: (JSON.parse(recorded.body) as { store: unknown }).store,
};
process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
process.stdout.write(
  `wrote ${writeResults('store-overhead', { shape: { rate: 500, passes: 3, seconds: 8 }, results: rows, summary })}\n`,
);
await on.close();
await off.close();
process.exit(0);
