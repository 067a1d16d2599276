/**
 * Exact kNN: N rows of dimension d, top-k by inner product, Q queries per call.
 * Every backend, peers on the same data in the same run (usearch exactSearch, hnswlib-node
 * BruteforceSearch, onnxruntime Gemm + TopK), and the machine's ceilings (onnxruntime sgemm, copy
 * bandwidth). FLOPs = 2·Q·N·d; bytes read per call >= N·d·4.
 *   npm run bench -- knn          (BENCH_N, BENCH_D to change the shape)
 */
import { cpus } from 'node:os';

import hnswlib from 'hnswlib-node';
import ort from 'onnxruntime-node';
import usearch from 'usearch';

import { createBackend, type BackendName } from '../src/index.js';
import { bandwidthCeiling, sgemmCeiling } from './lib/ceilings.js';
import { medianMs, printTable, randomNormal, writeResults, type ResultRow } from './lib/common.js';
import { buildModel } from './lib/onnx.js';

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
const reference = new Map<number, number[][]>(); // Q -> top-k ids per query (from the cpu backend)

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
const iterationsFor = (Q: number) => (Q === 1 ? 50 : Q === 64 ? 10 : 5);

/** Share of queries whose top-k id sets equal the cpu backend's. */
function agreement(Q: number, got: number[][]): string {
  const want = reference.get(Q);
  if (!want) return '';
  let same = 0;
  got.forEach((g, i) => {
    const w = new Set(want[i]);
    if (g.length === w.size && g.every((x) => w.has(x))) same++;
  });
  return `top-${K} agree ${((100 * same) / got.length).toFixed(0)}%`;
}

async function backends(): Promise<void> {
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
    for (const Q of QS) {
      if ((name === 'js' || name === 'gpujs') && Q > SLOW_MAX_Q) continue;
      const q = queries.subarray(0, Q * D);
      const res = await idx.search(q, K, 'ip');
      const top = Array.from({ length: Q }, (_, i) => Array.from(res.ids.subarray(i * K, (i + 1) * K), Number));
      if (name === 'cpu') reference.set(Q, top);
      const ms = await medianMs(() => idx.search(q, K, 'ip'), { iterations: name === 'js' || name === 'gpujs' ? 3 : iterationsFor(Q), time: 500 });
      rows.push(row(name, 'backend', Q, ms, name === 'cpu' ? undefined : agreement(Q, top)));
    }
    idx.free();
  }
}

async function peers(): Promise<void> {
  const threads = cpus().length;
  // usearch: exact (brute-force) search over the same Float32Array, all threads
  for (const Q of QS) {
    const q = queries.subarray(0, Q * D);
    const res = usearch.exactSearch(db, q, D, K, usearch.MetricKind.IP, threads) as { keys: BigUint64Array };
    const top = Array.from({ length: Q }, (_, i) => Array.from(res.keys.subarray(i * K, (i + 1) * K), Number));
    const ms = await medianMs(() => usearch.exactSearch(db, q, D, K, usearch.MetricKind.IP, threads), { iterations: iterationsFor(Q), time: 500 });
    rows.push(row('usearch exactSearch', 'peer', Q, ms, agreement(Q, top)));
  }
  // onnxruntime: Gemm (Q x D times D x N) + TopK, intra-op threads = cores
  const model = buildModel({
    inputs: [{ name: 'Q', shape: ['q', D] }, { name: 'DB', shape: [N, D] }],
    outputs: [{ name: 'values', shape: ['q', K] }, { name: 'indices', shape: ['q', K], type: 'int64' }],
    int64Constants: { K: [K] },
    nodes: [
      { op: 'Gemm', inputs: ['Q', 'DB'], outputs: ['S'], ints: { transB: 1 } },
      { op: 'TopK', inputs: ['S', 'K'], outputs: ['values', 'indices'], ints: { axis: -1, largest: 1, sorted: 1 } },
    ],
  });
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const dbTensor = new ort.Tensor('float32', db, [N, D]);
  for (const Q of QS) {
    const feeds = { Q: new ort.Tensor('float32', queries.subarray(0, Q * D), [Q, D]), DB: dbTensor };
    const out = await session.run(feeds);
    const idxs = out.indices!.data as BigInt64Array;
    const top = Array.from({ length: Q }, (_, i) => Array.from(idxs.subarray(i * K, (i + 1) * K), Number));
    const ms = await medianMs(() => session.run(feeds), { iterations: iterationsFor(Q), time: 500 });
    rows.push(row('onnxruntime Gemm+TopK', 'peer', Q, ms, agreement(Q, top)));
  }
  await session.release();
  // hnswlib-node: BruteforceSearch, one query per call (its API), single-threaded
  const bf = new hnswlib.BruteforceSearch('ip', D);
  bf.initIndex(N);
  for (let i = 0; i < N; i++) bf.addPoint(Array.from(db.subarray(i * D, (i + 1) * D)), i);
  for (const Q of QS.filter((q) => q <= SLOW_MAX_Q)) {
    const qs = Array.from({ length: Q }, (_, i) => Array.from(queries.subarray(i * D, (i + 1) * D)));
    const top = qs.map((q) => {
      const r = bf.searchKnn(q, K);
      return r.neighbors;
    });
    const ms = await medianMs(() => qs.forEach((q) => bf.searchKnn(q, K)), { iterations: 3, time: 500 });
    rows.push(row('hnswlib-node BruteforceSearch', 'peer', Q, ms, agreement(Q, top)));
  }
}

const sgemm = await sgemmCeiling();
const bandwidth = await bandwidthCeiling();
await backends();
await peers();
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
  cpuSpeedupOverPeers: Object.fromEntries(QS.map((Q) => [Q, Object.fromEntries(peersAt(Q).map((p) => [p.name, (cpu(Q)?.qps ?? 0) / p.qps]))])),
};
process.stdout.write(`\nsummary: ${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(`wrote ${writeResults('knn', { shape: { N, d: D, k: K, Q: QS, metric: 'ip', dtype: 'f32' }, results: all, summary })}\n`);
