/**
 * The comparison bench's own cost. (1) Ten models × 500 prompts against an upstream (a worker
 * thread) whose models answer after planted lognormal delays (medians 5–50 ms), under a cap of 32
 * calls at once: wall time against the bound the cap and the planted delays impose (Σ delays ÷ 32,
 * or the slowest single call), and per call the time through the engine minus its planted delay
 * (median, p95). (2) Ten models × 2,000 prompts (20,000 results) against an upstream that answers
 * at once, results streamed to disk: peak RSS sampled every 50 ms. Targets: wall ≤ 1.1× the bound,
 * ≤ 1 ms orchestration per call, ≤ 500 MB at 20,000 results.
 *   npm run bench -- compare
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { compare, type CompareCase } from '../src/compare/index.js';
import { selectBackend } from '../src/compute/index.js';
import { createArbiter } from '../src/index.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';
import { plantedMs } from './lib/planted.js';
import { inWorker } from './lib/workers.js';

const { backend } = await selectBackend();
const models = Array.from({ length: 10 }, (_, i) => `m${i}`);
const engineFor = (port: number) =>
  createArbiter(
    {
      models: models.map((id) => ({
        id,
        provider: { kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, retries: 0 },
        cost: { inputPer1k: 0.001, outputPer1k: 0.002 },
        maxConcurrent: 64,
      })),
      store: { url: 'none' },
    },
    { backend },
  );
const cases = (n: number): CompareCase[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `p${i}`,
    prompt: `Question ${i}: ${'explain the trade-offs of caching in distributed systems '.repeat(3)}`,
    assert: [{ type: 'contains', value: 'answer' }],
  }));

// (1) wall time and per-call overhead under the cap
const slowPort = await inWorker<number>(new URL('./lib/planted-upstream.js', import.meta.url), { mode: 'upstream' });
const slow = await engineFor(slowPort);
const CAP = 32;
const small = cases(500);
await compare(slow, cases(20), { models, concurrency: CAP, retries: 0 }); // warm-up: connections, JIT
const t0 = performance.now();
const { results } = await compare(slow, small, { models, concurrency: CAP, retries: 0 });
const wall = performance.now() - t0;
const planted = new Map(small.map((c) => [c.id, c.prompt]));
const delays = results.map((r) => plantedMs(r.model, planted.get(r.case)!));
const bound = Math.max(delays.reduce((s, x) => s + x, 0) / CAP, Math.max(...delays));
const extra = results.map((r, i) => r.latencyMs - delays[i]!).sort((a, b) => a - b);
const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const failed = results.filter((r) => r.status !== 'ok').length;
await slow.close();

// (2) memory at 20,000 results, streamed to disk
const fastPort = await inWorker<number>(new URL('./lib/load-worker.js', import.meta.url), { mode: 'upstream' });
const fast = await engineFor(fastPort);
let peak = process.memoryUsage().rss;
const rssBefore = peak;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
const tBig = performance.now();
const big = await compare(fast, cases(2000), {
  models,
  concurrency: 64,
  retries: 0,
  out: mkdtempSync(join(tmpdir(), 'arbiter-compare-bench-')),
});
const bigWall = performance.now() - tBig;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
await fast.close();

const mb = (b: number) => b / 2 ** 20;
const rows: ResultRow[] = [
  {
    name: '10 models × 500 prompts, cap 32, planted delays',
    kind: 'backend',
    Q: results.length,
    medianMs: q(extra, 0.5),
    qps: (1000 * results.length) / wall,
    note: `wall ${(wall / 1000).toFixed(2)} s vs bound ${(bound / 1000).toFixed(2)} s = ${(wall / bound).toFixed(3)}× (target ≤ 1.1); per call over the planted delay: median ${q(extra, 0.5).toFixed(3)} ms, p95 ${q(extra, 0.95).toFixed(3)} ms (target ≤ 1); ${failed} failed`,
  },
  {
    name: '10 models × 2,000 prompts, results to disk',
    kind: 'backend',
    Q: big.results.length,
    medianMs: 0,
    qps: (1000 * big.results.length) / bigWall,
    note: `peak RSS ${mb(peak).toFixed(0)} MB (before ${mb(rssBefore).toFixed(0)} MB; target ≤ 500) at ${big.results.length} results`,
  },
];
printTable('the comparison bench: orchestration and memory', rows, 'calls/s');
const summary = {
  wallSeconds: wall / 1000,
  boundSeconds: bound / 1000,
  wallOverBound: wall / bound,
  overheadMedianMs: q(extra, 0.5),
  overheadP95Ms: q(extra, 0.95),
  failed,
  peakRssMB: mb(peak),
  rssBeforeMB: mb(rssBefore),
  bigResults: big.results.length,
};
process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
process.stdout.write(
  `wrote ${writeResults('compare', { shape: { models: 10, prompts: [500, 2000], cap: CAP }, results: rows, summary })}\n`,
);
process.exit(0);
