/**
 * Spherical k-means (cosine) with k-means++ seeding from a seeded generator; each assignment
 * step is one batched top-1 search of all points against the centroids on the compute backend.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ComputeBackend } from '../compute/index.js';

export interface Clustering {
  centroids: Float32Array; // k x dim, unit length
  assignments: Int32Array; // n
  /** Mean cosine of points to their centroid. */
  cohesion: number;
  iterations: number;
}

export async function kmeans(
  backend: ComputeBackend,
  points: Float32Array,
  dim: number,
  k: number,
  options: { iterations?: number; seed?: number } = {},
): Promise<Clustering> {
  const n = points.length / dim;
  if (!Number.isInteger(n) || n === 0)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `points must be a non-empty n x ${dim} Float32Array`, {
      param: 'points',
    });
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `k must be an integer from 1 to ${n}, got ${k}`, {
      param: 'k',
    });
  let s = (options.seed ?? 1) >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const unit = (v: Float32Array) => {
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  };
  const row = (i: number) => points.subarray(i * dim, (i + 1) * dim);
  // k-means++ on cosine distance
  const centroids = new Float32Array(k * dim);
  centroids.set(unit(row(Math.floor(rand() * n))), 0);
  const dist = new Float64Array(n).fill(Infinity);
  for (let c = 1; c < k; c++) {
    const prev = centroids.subarray((c - 1) * dim, c * dim);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const r = row(i);
      let dot = 0;
      let nn = 0;
      for (let t = 0; t < dim; t++) {
        dot += r[t]! * prev[t]!;
        nn += r[t]! * r[t]!;
      }
      dist[i] = Math.min(dist[i]!, Math.max(0, 1 - dot / (Math.sqrt(nn) || 1)) ** 2);
      total += dist[i]!;
    }
    let pick = rand() * total;
    let chosen = n - 1;
    for (let i = 0; i < n; i++)
      if ((pick -= dist[i]!) <= 0) {
        chosen = i;
        break;
      }
    centroids.set(unit(row(chosen)), c * dim);
  }
  const assignments = new Int32Array(n).fill(-1);
  const ids = Int32Array.from({ length: k }, (_, i) => i);
  let cohesion = 0;
  let it = 0;
  for (; it < (options.iterations ?? 25); it++) {
    const index = backend.createIndex({ dim });
    await index.add(ids, centroids);
    const res = await index.search(points, 1, 'cos');
    index.free();
    let changed = 0;
    cohesion = 0;
    for (let i = 0; i < n; i++) {
      const a = Number(res.ids[i]);
      if (a !== assignments[i]) changed++;
      assignments[i] = a;
      cohesion += res.scores[i]!;
    }
    cohesion /= n;
    const sums = new Float64Array(k * dim);
    for (let i = 0; i < n; i++) {
      const r = unit(row(i));
      for (let t = 0; t < dim; t++) sums[assignments[i]! * dim + t] = sums[assignments[i]! * dim + t]! + r[t]!;
    }
    for (let c = 0; c < k; c++) {
      const v = Float32Array.from(sums.subarray(c * dim, (c + 1) * dim));
      if (v.some((x) => x !== 0)) centroids.set(unit(v), c * dim); // an empty cluster keeps its centroid
    }
    if (changed === 0) break;
  }
  return { centroids, assignments, cohesion, iterations: it + 1 };
}
