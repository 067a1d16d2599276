/**
 * An exact index whose rows live in a JS Float32Array (the js and gpujs backends). Storage,
 * removal and top-k are here; the backend supplies the batched dot products.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import { BaseIndex, type RawSearch } from './base-index.js';
import { floatToHalf, halfToFloat } from './fp16.js';
import { TopK } from './topk.js';
import type { BackendName, IndexOptions, Metric } from './types.js';

/** dots[q * n + j] = queries[q] . rows[j] for nq queries and n rows of dimension d. */
export type DotsFn = (
  queries: Float32Array,
  nq: number,
  rows: Float32Array,
  n: number,
  d: number,
) => Promise<ArrayLike<number>>;

export class HostIndex extends BaseIndex {
  private rows = new Float32Array(0);
  /** Squared norm of each row, kept with the rows (cosine and l2 need it on every search). */
  private norms = new Float64Array(0);
  private labels: bigint[] = [];
  private rowOf = new Map<bigint, number>();

  constructor(
    backend: BackendName,
    options: IndexOptions,
    private readonly dots: DotsFn,
  ) {
    super(backend, options);
  }

  protected rawSize(): number {
    return this.labels.length;
  }

  protected async rawAdd(ids: BigInt64Array, vectors: Float32Array): Promise<void> {
    for (const id of ids)
      if (this.rowOf.has(id))
        throw new ArbiterError(ErrorCodes.DUPLICATE_ID, `id ${id} is already in the index`, { param: 'ids' });
    const n0 = this.labels.length;
    const d = this.dim;
    if (this.rows.length < (n0 + ids.length) * d) {
      const grown = new Float32Array(Math.max((n0 + ids.length) * d, this.rows.length * 2));
      grown.set(this.rows.subarray(0, n0 * d));
      this.rows = grown;
      const norms = new Float64Array(grown.length / d);
      norms.set(this.norms.subarray(0, n0));
      this.norms = norms;
    }
    for (let i = 0; i < ids.length; i++) {
      for (let t = 0; t < d; t++) {
        const x = vectors[i * d + t]!;
        this.rows[(n0 + i) * d + t] = this.dtype === 'f16' ? halfToFloat(floatToHalf(x)) : x;
      }
      let ss = 0;
      for (let t = 0; t < d; t++) ss += this.rows[(n0 + i) * d + t]! ** 2;
      this.norms[n0 + i] = ss;
      this.labels.push(ids[i]!);
      this.rowOf.set(ids[i]!, n0 + i);
    }
  }

  protected async rawRemove(ids: BigInt64Array): Promise<number> {
    let removed = 0;
    const d = this.dim;
    for (const id of ids) {
      const r = this.rowOf.get(id);
      if (r === undefined) continue;
      const last = this.labels.length - 1;
      this.rowOf.delete(id);
      if (r !== last) {
        this.rows.copyWithin(r * d, last * d, (last + 1) * d);
        this.norms[r] = this.norms[last]!;
        this.labels[r] = this.labels[last]!;
        this.rowOf.set(this.labels[r]!, r);
      }
      this.labels.pop();
      removed++;
    }
    return removed;
  }

  protected async rawSearch(queries: Float32Array, k: number, metric: Metric): Promise<RawSearch> {
    const d = this.dim;
    const n = this.labels.length;
    const nq = queries.length / d;
    const kk = Math.min(k, n);
    const ids = new BigInt64Array(nq * kk);
    const scores = new Float32Array(nq * kk);
    if (kk === 0 || nq === 0) return { ids, scores, k: kk };
    // Everything read from the storage is read before the await: add/remove/free may run during it.
    const rows = this.rows.subarray(0, n * d);
    const labels = this.labels.slice(0, n);
    const norms = this.norms.slice(0, n);
    const pending = this.dots(queries, nq, rows, n, d); // reads rows synchronously
    const dots = await pending;
    for (let q = 0; q < nq; q++) {
      let qq = 0;
      for (let t = 0; t < d; t++) qq += queries[q * d + t]! ** 2;
      const top = new TopK<bigint>(kk);
      for (let j = 0; j < n; j++) {
        const dot = dots[q * n + j]!;
        let score: number;
        if (metric === 'ip') score = dot;
        else if (metric === 'cos') score = qq > 0 && norms[j]! > 0 ? dot / Math.sqrt(qq * norms[j]!) : 0;
        else score = -Math.max(0, qq + norms[j]! - 2 * dot);
        top.push(score, labels[j]!);
      }
      top.sorted().forEach(([s, id], j) => {
        ids[q * kk + j] = id;
        scores[q * kk + j] = metric === 'l2' ? -s : s;
      });
    }
    return { ids, scores, k: kk };
  }

  protected rawGet(id: bigint): Float32Array | null {
    const r = this.rowOf.get(id);
    return r === undefined ? null : this.rows.slice(r * this.dim, (r + 1) * this.dim);
  }

  protected rawFree(): void {
    this.rows = new Float32Array(0);
    this.norms = new Float64Array(0);
    this.labels = [];
    this.rowOf.clear();
  }
}
