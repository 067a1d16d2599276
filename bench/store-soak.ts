/**
 * A soak with the store on: the gateway answers a fixed 300 requests/s (open loop, load generator
 * and upstream in worker threads) for BENCH_SOAK_S seconds (default 600) while recording every
 * request to SQLite; RSS is sampled every second. Afterwards: rows in the database against
 * requests answered (goal: equal), and RSS growth after a 60 s warm-up (goal < 5%).
 *   npm run bench -- store-soak
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { selectBackend } from '../src/compute/index.js';
import { createArbiter } from '../src/index.js';
import { buildGateway } from '../src/server/index.js';
import { inWorker as startWorker } from './lib/workers.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

const SECONDS = Number(process.env.BENCH_SOAK_S ?? 600);
const RATE = 300;
const inWorker = <T>(data: { mode: string } & Record<string, unknown>) =>
  startWorker<T>(new URL('./lib/load-worker.js', import.meta.url), data);

const port = await inWorker<number>({ mode: 'upstream' });
const { backend } = await selectBackend();
const arbiter = await createArbiter(
  {
    models: [
      {
        id: 'm',
        provider: { kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` },
        cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
        maxConcurrent: 256,
      },
    ],
    store: { url: `sqlite:${join(mkdtempSync(join(tmpdir(), 'arbiter-soak-')), 'soak.db')}` },
  },
  { backend },
);
const gw = await buildGateway({ arbiter });
const url = await gw.listen({ host: '127.0.0.1', port: 0 });
const rss: number[] = [];
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  rss.push(m.rss);
  // BENCH_SOAK_VERBOSE=1: where the memory is, every 30 s (MB)
  if (process.env.BENCH_SOAK_VERBOSE && rss.length % 30 === 0) {
    const t = rss.length;
    void arbiter
      .store!.writerMemory()
      .then((w) =>
        process.stdout.write(
          `${t} s: rss ${(m.rss / 2 ** 20).toFixed(0)} heapUsed ${(m.heapUsed / 2 ** 20).toFixed(0)} heapTotal ${(m.heapTotal / 2 ** 20).toFixed(0)} external ${(m.external / 2 ** 20).toFixed(0)} arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)}${w ? `; writer thread heapUsed ${(w.heapUsed / 2 ** 20).toFixed(0)} heapTotal ${(w.heapTotal / 2 ** 20).toFixed(0)} external ${(w.external / 2 ** 20).toFixed(0)}` : ''}\n`,
        ),
      );
  }
}, 1000);
const r = await inWorker<{
  sent: number;
  answered: number;
  errors: number;
  byStatus: Record<string, number>;
  p50: number;
  p99: number;
}>({
  mode: 'rate',
  url: `${url}/v1/chat/completions`,
  body: JSON.stringify({
    model: 'auto',
    messages: [{ role: 'user', content: 'Summarise the plot of Hamlet in two sentences.' }],
  }),
  rate: RATE,
  seconds: SECONDS,
  connections: 32,
});
clearInterval(sampler);
await arbiter.store!.flush();
const stored = await arbiter.store!.sql.count();
const status = arbiter.store!.status;
const warm = rss[Math.min(60, rss.length - 1)]!;
const end = rss.at(-1)!;
const answered200 = r.byStatus['200'] ?? 0;
const rows: ResultRow[] = [
  {
    name: `soak ${SECONDS} s at ${RATE} req/s, store on (SQLite)`,
    kind: 'backend',
    Q: r.answered,
    medianMs: r.p50,
    qps: r.answered / SECONDS,
    note: `p99 ${r.p99.toFixed(2)} ms; answered ${answered200} (200), rows ${stored}, dropped ${status.dropped}; RSS ${(warm / 2 ** 20).toFixed(0)} → ${(end / 2 ** 20).toFixed(0)} MB after warm-up (${((100 * (end - warm)) / warm).toFixed(1)}%)`,
  },
];
printTable('soak with the outcome store on', rows, 'requests/s');
const summary = {
  seconds: SECONDS,
  sent: r.sent,
  answered: answered200,
  stored,
  dropped: status.dropped,
  rssWarmMB: warm / 2 ** 20,
  rssEndMB: end / 2 ** 20,
  rssGrowthPct: (100 * (end - warm)) / warm,
  p50Ms: r.p50,
  p99Ms: r.p99,
};
process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
process.stdout.write(
  `wrote ${writeResults('store-soak', { shape: { seconds: SECONDS, rate: RATE }, results: rows, summary })}\n`,
);
await gw.close();
process.exit(0);
