/**
 * The public VectorIndex behaviour shared by every backend: argument validation (before any
 * backend sees the data), the freed state, and id conversion. Backends implement the raw
 * operations on ids as BigInt64Array.
 */
import { ArbiterError, ErrorCodes, fromNative } from '../errors.js';
import type { BackendName, DType, IdType, Ids, IndexOptions, Metric, SearchResult, VectorIndex } from './types.js';
import * as v from './validate.js';
import { int32Ids } from './ids.js';

export interface RawSearch {
  ids: BigInt64Array;
  scores: Float32Array;
  k: number;
}

export abstract class BaseIndex implements VectorIndex {
  readonly dim: number;
  readonly dtype: DType;
  readonly idType: IdType;
  private freed = false;

  /**
   * @param nativeFinite the backend checks vectors and queries for NaN/infinity itself (SIMD, in a
   *   pass it makes anyway) and reports ARB_NOT_FINITE; otherwise they are checked here.
   */
  protected constructor(
    readonly backend: BackendName,
    options: IndexOptions,
    private readonly nativeFinite = false,
  ) {
    const o = v.indexOptions(options);
    this.dim = o.dim;
    this.dtype = o.dtype;
    this.idType = o.idType;
  }

  protected abstract rawSize(): number;
  protected abstract rawAdd(ids: BigInt64Array, vectors: Float32Array): Promise<void>;
  protected abstract rawRemove(ids: BigInt64Array): Promise<number>;
  protected abstract rawSearch(queries: Float32Array, k: number, metric: Metric): Promise<RawSearch>;
  protected abstract rawGet(id: bigint): Float32Array | null;
  /** Rows of ids into out (ids × dim); how many were found. A backend with a bulk read overrides it. */
  protected rawGetRows(ids: BigInt64Array, out: Float32Array): number {
    let found = 0;
    for (let i = 0; i < ids.length; i++) {
      const row = this.rawGet(ids[i]!);
      if (row) {
        out.set(row, i * this.dim);
        found++;
      }
    }
    return found;
  }
  protected abstract rawFree(): void;

  private live(): void {
    if (this.freed) throw new ArbiterError(ErrorCodes.FREED, 'the index has been freed');
  }

  get size(): number {
    return this.freed ? 0 : this.rawSize();
  }

  async add(ids: Ids, vectors: Float32Array): Promise<void> {
    this.live();
    const ids64 = v.idsToBigInt(ids, this.idType);
    const n = v.matrixRows(vectors, this.dim, 'vectors', !this.nativeFinite);
    if (n !== ids64.length)
      throw new ArbiterError(ErrorCodes.DIMENSION_MISMATCH, `vectors holds ${n} rows but ids has ${ids64.length}`, {
        param: 'vectors',
      });
    v.distinctIds(ids64);
    try {
      await this.rawAdd(ids64, vectors);
    } catch (e) {
      throw fromNative(e);
    }
  }

  async remove(ids: Ids): Promise<number> {
    this.live();
    const ids64 = v.idsToBigInt(ids, this.idType);
    try {
      return await this.rawRemove(ids64);
    } catch (e) {
      throw fromNative(e);
    }
  }

  async search(queries: Float32Array, k: number, metric?: Metric): Promise<SearchResult> {
    this.live();
    const m = v.metricOf(metric);
    const kk = v.kOf(k);
    const n = v.matrixRows(queries, this.dim, 'queries', !this.nativeFinite);
    let raw: RawSearch;
    try {
      raw = await this.rawSearch(queries, kk, m);
    } catch (e) {
      throw fromNative(e);
    }
    const ids = this.idType === 'i64' ? raw.ids : int32Ids(raw.ids);
    return { ids, scores: raw.scores, k: raw.k, n };
  }

  get(id: number | bigint): Float32Array | null {
    this.live();
    if (typeof id === 'number' && !Number.isSafeInteger(id))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `id must be an integer, got ${id}`, { param: 'id' });
    if (typeof id !== 'number' && typeof id !== 'bigint')
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'id must be a number or a bigint', { param: 'id' });
    return this.rawGet(BigInt(id));
  }

  getRows(ids: Ids): Float32Array | null {
    this.live();
    const ids64 = v.idsToBigInt(ids, this.idType);
    const out = new Float32Array(ids64.length * this.dim);
    try {
      return this.rawGetRows(ids64, out) === ids64.length ? out : null;
    } catch (e) {
      throw fromNative(e);
    }
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.rawFree();
  }
}
