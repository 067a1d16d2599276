/**
 * Fits a router's out-of-distribution test (router/ood.ts reads and applies it) on the training
 * prompts only: the tasks' means and shared covariance of the head's input, and the reference
 * distributions of its two scores made out of fold — each prompt's distance under a Gaussian
 * fitted without its fold, and the entropy of its out-of-fold task distribution — so the
 * p-values are those of prompts the fit has not seen.
 */
import { inverse, Matrix } from 'ml-matrix';

import type { ComputeBackend } from '../compute/index.js';
import { normalisedEntropy, OodDetector, type OodFile } from '../analyze/index.js';

/** Shrinkage of the covariance toward its diagonal (robust: 0.05–0.5 flag the same prompts on RouterBench). */
export const OOD_SHRINKAGE = 0.1;

interface Gaussian {
  means: number[][];
  precision: Float32Array;
}

/** Per-task means (and unlabelled prompts') and the inverse of the shared (shrunk) covariance of the rows `idx` of x. */
async function fitGaussian(
  backend: ComputeBackend,
  x: Float32Array,
  D: number,
  labels: Int32Array,
  T: number,
  idx: readonly number[],
): Promise<Gaussian> {
  // prompts without a task label form one more group
  const group = (i: number) => (labels[i]! >= 0 ? labels[i]! : T);
  const sums = Array.from({ length: T + 1 }, () => new Float64Array(D));
  const counts = new Array<number>(T + 1).fill(0);
  for (const i of idx) {
    const t = group(i);
    counts[t]!++;
    for (let j = 0; j < D; j++) sums[t]![j]! += x[i * D + j]!;
  }
  const live = [...Array(T + 1).keys()].filter((t) => counts[t]! > 0);
  const means = live.map((t) => Array.from(sums[t]!, (s) => s / counts[t]!));
  const meanOf = new Map(live.map((t, k) => [t, means[k]!]));
  // residuals transposed (D × n): their product with themselves on the backend is the scatter matrix
  const n = idx.length;
  const rt = new Float32Array(D * n);
  idx.forEach((i, col) => {
    const m = meanOf.get(group(i))!;
    for (let j = 0; j < D; j++) rt[j * n + col] = x[i * D + j]! - m[j]!;
  });
  const scatter = await backend.mlp({ layers: [{ in: n, out: D, weight: rt, activation: 'none' }] }, rt);
  const dof = Math.max(1, n - live.length);
  const cov = new Matrix(D, D);
  for (let a = 0; a < D; a++)
    for (let b = 0; b < D; b++) {
      const v = (scatter[a * D + b]! + scatter[b * D + a]!) / 2 / dof;
      cov.set(a, b, a === b ? v + 1e-6 : (1 - OOD_SHRINKAGE) * v); // a feature constant in training: variance 1e-6
    }
  const p = inverse(cov, true);
  const precision = new Float32Array(D * D);
  for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) precision[a * D + b] = (p.get(a, b) + p.get(b, a)) / 2;
  return { means, precision };
}

/**
 * The test from n training prompts' head inputs (n × D), their groups (0..groups−1, −1 for none:
 * the distance is to the nearest group's mean) and out-of-fold task distributions over `tasks`
 * (for the entropy; omit with one task).
 */
export async function fitOod(
  backend: ComputeBackend,
  x: Float32Array,
  D: number,
  labels: Int32Array,
  groups: number,
  tasks: readonly string[],
  oofDistributions: ReadonlyArray<Record<string, number>> | undefined,
  folds = 5,
): Promise<{ file: OodFile; precision: Float32Array }> {
  const n = x.length / D;
  const T = tasks.length;
  const G = groups;
  const rows = (f: number, held: boolean) => [...Array(n).keys()].filter((i) => (i % folds === f) === held);
  const distance: number[] = [];
  for (let f = 0; f < Math.min(folds, n); f++) {
    const g = await fitGaussian(backend, x, D, labels, G, rows(f, false));
    const held = rows(f, true);
    const xs = new Float32Array(held.length * D);
    held.forEach((i, k) => xs.set(x.subarray(i * D, (i + 1) * D), k * D));
    const det = new OodDetector(file(g, tasks, D, [], []), g.precision);
    distance.push(...(await det.distances(backend, xs)));
  }
  const entropy = T > 1 && oofDistributions ? oofDistributions.map((d) => normalisedEntropy(d, T)) : [];
  const all = await fitGaussian(backend, x, D, labels, G, [...Array(n).keys()]);
  const asc = (v: number[]) => v.sort((a, b) => a - b).map(round6);
  return { file: file(all, tasks, D, asc(distance), asc(entropy)), precision: all.precision };
}

/** Six significant digits: the file stays small, the p-values do not move. */
const round6 = (v: number) => Number(v.toPrecision(6));

function file(g: Gaussian, tasks: readonly string[], D: number, distance: number[], entropy: number[]): OodFile {
  return {
    tasks: [...tasks],
    inputDim: D,
    means: g.means.map((m) => m.map(round6)),
    shrinkage: OOD_SHRINKAGE,
    distance,
    entropy,
    from: `training prompts, ${distance.length} out-of-fold distances and ${entropy.length} out-of-fold task entropies`,
  };
}
