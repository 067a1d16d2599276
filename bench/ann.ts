/**
 * Large manifolds: a manifold of N points (default 1,000,000; d = 256) routed through its
 * approximate index (the HNSW graph it builds from 50,000 points on) against exact search of the
 * same rows: build time, prompts/s of the manifold's vote (search + aggregation, batches of 1,024)
 * and of exact search, and recall@16 of the vote's neighbours against exact search on 2,048 fresh
 * queries. The rows (BENCH_ROWS): `latent` (default) — 4,000 clusters in a 32-dimensional space
 * mapped into 256 dimensions, plus noise: real prompt embeddings have a participation ratio of
 * about 33 (the shipped static embedder on RouterBench); `isotropic` — 4,000 clusters with
 * 256-dimensional noise, a worst case where a cluster's points are all about equally far apart.
 * Then the manifold is saved (its file and, beside it, the graph) and loaded back: load time against
 * the build, and the loaded manifold's neighbours against the original's on the same queries.
 * Target: ≥ 5,000 prompts/s with recall@16 ≥ 0.95.
 *   npm run bench -- ann        (BENCH_N, BENCH_ROWS; long: run by name)
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createBackend } from '../src/compute/index.js';
import { loadManifold, Manifold, saveManifold } from '../src/manifold/index.js';
import { median, printTable, writeResults, type ResultRow } from './lib/common.js';

const N = Number(process.env.BENCH_N ?? 1_000_000);
const D = 256;
const CLUSTERS = 4000;
const KIND = process.env.BENCH_ROWS === 'isotropic' ? 'isotropic' : 'latent';
const LATENT = 32;
const Q = 2048;
const BATCH = 1024;
const K = 16;

let seed = 1;
const uniform = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return (seed + 0.5) / 4294967296;
};
const gauss = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
const unit = (v: Float32Array) => {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return v.map((x) => x / n);
};
const inner = KIND === 'latent' ? LATENT : D;
const centres = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: inner }, gauss));
// latent: a fixed random map from the 32-dimensional space into 256 (Gaussian, scaled to keep norms)
const map = Float32Array.from({ length: D * LATENT }, () => gauss() / Math.sqrt(D));
const row = (): Float32Array => {
  const c = centres[Math.floor(uniform() * CLUSTERS)]!;
  if (KIND === 'isotropic') return unit(c.map((x) => x / Math.sqrt(D) + 0.05 * gauss()));
  const z = c.map((x) => x + 0.7 * gauss());
  const out = new Float32Array(D);
  for (let i = 0; i < D; i++) {
    let s = 0;
    for (let j = 0; j < LATENT; j++) s += map[i * LATENT + j]! * z[j]!;
    out[i] = s + 0.02 * gauss();
  }
  return unit(out);
};
const rows = (n: number) => {
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) out.set(row(), i * D);
  return out;
};

const backend = createBackend('cpu');
const data = rows(N);
const queries = rows(Q);
const log = (s: string) => process.stderr.write(`${s}\n`);

// the manifold, as training builds one: reference points with a task and outcomes
const manifold = new Manifold(backend, { dim: D, capacity: N, models: ['a', 'b'] });
const t0 = performance.now();
const CHUNK = 50_000;
for (let s = 0; s < N; s += CHUNK) {
  const n = Math.min(CHUNK, N - s);
  await manifold.add(
    Array.from({ length: n }, (_, i) => ({
      embedding: data.subarray((s + i) * D, (s + i + 1) * D),
      task: (s + i) % 2 ? 'code' : 'math',
      outcomes: { a: (s + i) % 3 ? 1 : 0, b: (s + i) % 5 ? 1 : 0 },
    })),
  );
  log(`added ${s + n} / ${N} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
const buildS = (performance.now() - t0) / 1000;

// saved and loaded back: the graph file is read (after its checksum), not rebuilt
const dir = await mkdtemp(join(tmpdir(), 'arbiter-ann-'));
const t2 = performance.now();
const { graph } = await saveManifold(manifold, join(dir, 'manifold.arbm'));
const saveS = (performance.now() - t2) / 1000;
const t3 = performance.now();
const loaded = await loadManifold(join(dir, 'manifold.arbm'), backend);
const loadS = (performance.now() - t3) / 1000;
const [mine, theirs] = [await manifold.vote(queries, K), await loaded.vote(queries, K)];
const sameNeighbours = mine.filter((v, q) =>
  v.neighbours.ids.every((id, j) => id === theirs[q]!.neighbours.ids[j]),
).length;
const files = {
  manifoldBytes: (await stat(join(dir, 'manifold.arbm'))).size,
  graphBytes: graph?.bytes ?? 0,
};
log(
  `saved in ${saveS.toFixed(1)} s, loaded in ${loadS.toFixed(1)} s (build ${buildS.toFixed(0)} s); same neighbours ${sameNeighbours}/${Q}`,
);
loaded.free();
await rm(dir, { recursive: true, force: true });

// exact search of the same rows (f16, as the manifold stores them): the reference and the floor
const exact = backend.createIndex({ dim: D, dtype: 'f16' });
await exact.add(
  Int32Array.from({ length: N }, (_, i) => i),
  data,
);
const t1 = performance.now();
const truth = await exact.search(queries, K, 'cos');
const exactQps = (Q * 1000) / (performance.now() - t1);
log(`exact: ${exactQps.toFixed(0)} queries/s`);

const nnCos = median(Array.from({ length: Q }, (_, q) => truth.scores[q * K]!));
const results: ResultRow[] = [];
const sweep: Array<{ expansion: number; promptsPerS: number; recall: number }> = [];
for (const expansion of [32, 48, 64, 96, 128]) {
  manifold.setSearchExpansion(expansion);
  const voteTimes: number[] = [];
  let hits = 0;
  for (let pass = 0; pass < 3; pass++) {
    for (let s = 0; s < Q; s += BATCH) {
      const t = performance.now();
      const votes = await manifold.vote(queries.subarray(s * D, (s + BATCH) * D), K);
      voteTimes.push((performance.now() - t) / BATCH);
      if (pass === 0)
        votes.forEach((v, i) => {
          const want = new Set(Array.from(truth.ids.subarray((s + i) * K, (s + i + 1) * K), Number));
          for (const id of v.neighbours.ids) if (want.has(id)) hits++;
        });
    }
  }
  const ms = median(voteTimes);
  const recall = hits / (Q * K);
  sweep.push({ expansion, promptsPerS: 1000 / ms, recall });
  results.push({
    name: `manifold vote, HNSW, ${expansion} candidates`,
    kind: 'backend',
    Q: BATCH,
    medianMs: ms * BATCH,
    qps: 1000 / ms,
    note: `recall@16 ${recall.toFixed(4)}`,
  });
  log(`expansion ${expansion}: ${(1000 / ms).toFixed(0)} prompts/s, recall@16 ${recall.toFixed(4)}`);
}
results.push({ name: 'exact search (cpu, f16)', kind: 'backend', Q, medianMs: (Q * 1000) / exactQps, qps: exactQps });
const met = sweep.filter((x) => x.promptsPerS >= 5000 && x.recall >= 0.95);
printTable(`${N.toLocaleString('en-US')} points (${KIND} rows), d = ${D}, k = ${K}`, results, 'prompts/s');
process.stdout.write(
  `build ${buildS.toFixed(0)} s (${((N / buildS) | 0).toLocaleString('en-US')} points/s); median nearest-neighbour cosine ${nnCos.toFixed(3)}; ` +
    `target ≥ 5,000 prompts/s at recall@16 ≥ 0.95: ${met.length ? `met with ${met.map((x) => x.expansion).join(', ')} candidates` : 'not met'}\n` +
    `saved in ${saveS.toFixed(1)} s (manifold ${(files.manifoldBytes / 2 ** 20).toFixed(0)} MiB, graph ${(files.graphBytes / 2 ** 20).toFixed(0)} MiB); ` +
    `loaded with its graph in ${loadS.toFixed(1)} s (${(buildS / loadS).toFixed(0)}× faster than the build); ` +
    `same 16 neighbours for ${sameNeighbours} of ${Q} queries\n`,
);
const file = writeResults(KIND === 'latent' ? 'ann' : 'ann-isotropic', {
  shape: { N, D, k: K, rows: KIND, clusters: CLUSTERS, latent: LATENT, queries: Q, batch: BATCH },
  results,
  buildSeconds: buildS,
  saved: { seconds: saveS, ...files },
  loadSeconds: loadS,
  loadedSameNeighbours: sameNeighbours,
  sweep,
  exactPromptsPerS: exactQps,
  medianNearestCosine: nnCos,
});
process.stdout.write(`wrote ${file}\n`);
manifold.free();
exact.free();
