/**
 * Exact kNN: N rows of dimension d, top-k by inner product, Q queries per call.
 * Every backend, peers on the same data in the same run (usearch exactSearch, hnswlib-node
 * BruteforceSearch, onnxruntime Gemm + TopK), and the machine's ceilings (onnxruntime sgemm, copy
 * bandwidth). FLOPs = 2·Q·N·d; bytes read per call >= N·d·4. Contenders at each Q are timed in
 * alternating passes (interleavedMedians) so drift on a shared machine hits all alike; the pure-JS
 * paths and hnswlib-node's one-query-per-call API run only Q <= 64.
 *   npm run bench -- knn          (BENCH_N, BENCH_D to change the shape)
 */
import { cpus } from 'node:os';

import hnswlib from 'hnswlib-node';
import ort from 'onnxruntime-node';
import usearch from 'usearch';

import { bandwidthCeiling, sgemmCeiling } from './lib/ceilings.js';
import { interleavedMedians, printTable, randomNormal, writeResults, type ResultRow } from './lib/common.js';
import { cpuSession } from './lib/onnx.js';
import { type BackendName, createBackend } from '../src/compute/index.js';

const N = Number(process.env.BENCH_N ?? 100_000);
const D = Number(process.env.BENCH_D ?? 256);
const K = 10;
const QS = [1, 64, 1024];
/** The pure-JS paths are far slower: they run the small batches only. */
const SLOW_MAX_Q = 64;

const db = randomNormal(N * D, 42);
const queries = randomNormal(Math.max(...QS) * D, 43);
const ids = Int32Array.from({ length: N }, (_, i) => i);
const rows: ResultRow[] = [];

const row = (name: string, kind: ResultRow['kind'], Q: number, ms: number, note?: string): ResultRow => ({
  name,
  kind,
  Q,
  medianMs: ms,
  qps: (Q * 1000) / ms,
  gflops: (2 * Q * N * D) / ms / 1e6,
  gbps: (N * D * 4) / ms / 1e6,
  ...(note ? { note } : {}),
});

/** A contender searches Q queries and returns the top-k ids per query (for the agreement check). */
interface Contender {
  name: string;
  kind: 'backend' | 'peer';
  maxQ: number;
  search: (q: Float32Array, Q: number) => Promise<number[][]> | number[][];
}
const split = (flat: ArrayLike<number | bigint>, Q: number) =>
  Array.from({ length: Q }, (_, i) => Array.from({ length: K }, (_, j) => Number(flat[i * K + j]!)));

/** Share of queries whose top-k id sets equal the reference's. */
function agreement(got: number[][], want: number[][]): string {
  let same = 0;
  got.forEach((g, i) => {
    const w = new Set(want[i]);
    if (g.length === w.size && g.every((x) => w.has(x))) same++;
  });
  return `top-${K} agree ${((100 * same) / got.length).toFixed(0)}%`;
}

async function contenders(): Promise<Contender[]> {
  const out: Contender[] = [];
  for (const name of ['cpu', 'cuda', 'gpujs', 'js'] as BackendName[]) {
    let backend;
    try {
      backend = createBackend(name);
    } catch (e) {
      process.stdout.write(`${name}: unavailable (${(e as Error).message})\n`);
      continue;
    }
    const idx = backend.createIndex({ dim: D });
    await idx.add(ids, db);
    const slow = name === 'js' || name === 'gpujs';
    out.push({
      name,
      kind: 'backend',
      maxQ: slow ? SLOW_MAX_Q : Infinity,
      search: async (q, Q) => split((await idx.search(q, K, 'ip')).ids, Q),
    });
  }
  const threads = cpus().length;
  out.push({
    name: 'usearch exactSearch',
    kind: 'peer',
    maxQ: Infinity,
    search: (q, Q) =>
      split((usearch.exactSearch(db, q, D, K, usearch.MetricKind.IP, threads) as { keys: BigUint64Array }).keys, Q),
  });
  // onnxruntime: Gemm (Q x D times D x N) + TopK, intra-op threads = cores
  const session = await cpuSession({
    inputs: [
      { name: 'Q', shape: ['q', D] },
      { name: 'DB', shape: [N, D] },
    ],
    outputs: [
      { name: 'values', shape: ['q', K] },
      { name: 'indices', shape: ['q', K], type: 'int64' },
    ],
    int64Constants: { K: [K] },
    nodes: [
      { op: 'Gemm', inputs: ['Q', 'DB'], outputs: ['S'], ints: { transB: 1 } },
      { op: 'TopK', inputs: ['S', 'K'], outputs: ['values', 'indices'], ints: { axis: -1, largest: 1, sorted: 1 } },
    ],
  });
  const dbTensor = new ort.Tensor('float32', db, [N, D]);
  out.push({
    name: 'onnxruntime Gemm+TopK',
    kind: 'peer',
    maxQ: Infinity,
    search: async (q, Q) =>
      split(
        (await session.run({ Q: new ort.Tensor('float32', q, [Q, D]), DB: dbTensor })).indices!.data as BigInt64Array,
        Q,
      ),
  });
  // hnswlib-node: BruteforceSearch takes one query per call (its API), single-threaded
  const bf = new hnswlib.BruteforceSearch('ip', D);
  bf.initIndex(N);
  for (let i = 0; i < N; i++) bf.addPoint(Array.from(db.subarray(i * D, (i + 1) * D)), i);
  out.push({
    name: 'hnswlib-node BruteforceSearch',
    kind: 'peer',
    maxQ: SLOW_MAX_Q,
    search: (q, Q) =>
      Array.from({ length: Q }, (_, i) => bf.searchKnn(Array.from(q.subarray(i * D, (i + 1) * D)), K).neighbors),
  });
  return out;
}

async function measure(all: Contender[]): Promise<void> {
  for (const Q of QS) {
    const q = queries.subarray(0, Q * D);
    const here = all.filter((c) => Q <= c.maxQ);
    const want = await here[0]!.search(q, Q); // the first contender (cpu when the addon loaded) is the reference
    const notes = new Map<string, string>();
    for (const c of here.slice(1)) notes.set(c.name, agreement(await c.search(q, Q), want));
    const medians = await interleavedMedians(here.map((c) => ({ name: c.name, fn: () => c.search(q, Q) })));
    for (const c of here) rows.push(row(c.name, c.kind, Q, medians.get(c.name)!, notes.get(c.name)));
  }
}

const sgemm = await sgemmCeiling();
const bandwidth = await bandwidthCeiling();
await measure(await contenders());
const all = [sgemm, bandwidth, ...rows];
printTable(`Exact kNN, N = ${N.toLocaleString('en-US')}, d = ${D}, k = ${K}, inner product`, all);

// Headline ratios against the targets of the foundation issue
const cpu = (Q: number) => rows.find((r) => r.name === 'cpu' && r.Q === Q);
const peersAt = (Q: number) => rows.filter((r) => r.kind === 'peer' && r.Q === Q);
const summary: Record<string, unknown> = {
  sgemmGflops: sgemm.gflops,
  copyGBps: bandwidth.gbps,
  cpuQ1024FractionOfSgemm: (cpu(1024)?.gflops ?? 0) / sgemm.gflops!,
  cpuQ1FractionOfBandwidthFloor: (cpu(1)?.gbps ?? 0) / bandwidth.gbps!,
  cpuSpeedupOverPeers: Object.fromEntries(
    QS.map((Q) => [Q, Object.fromEntries(peersAt(Q).map((p) => [p.name, (cpu(Q)?.qps ?? 0) / p.qps]))]),
  ),
};
process.stdout.write(`\nsummary: ${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(
  `wrote ${writeResults('knn', { shape: { N, d: D, k: K, Q: QS, metric: 'ip', dtype: 'f32' }, results: all, summary })}\n`,
);
