/**
 * The native backends: `cpu` (the C++ core on all cores) and `cuda` (the same contract on a GPU).
 * Both own native handles through TypeScript classes; inputs are validated before native code
 * sees them, and native failures become ArbiterErrors with the addon's stable code.
 */
import { ArbiterError, ErrorCodes, fromNative } from '../errors.js';
import {
  loadAddon,
  loadReport,
  type NativeAddon,
  type NativeIndexHandle,
  type NativeMlpHandle,
  type NativeTableHandle,
} from './addon.js';
import { ApproximateIndex } from './approximate.js';
import { BaseIndex, type RawSearch } from './base-index.js';
import type {
  ComputeBackend,
  EmbeddingTable,
  EmbedPoolOptions,
  IndexOptions,
  Metric,
  MlpWeights,
  VectorIndex,
} from './types.js';
import * as v from './validate.js';

type Device = 'cpu' | 'cuda';

/**
 * Work up to this estimate (ns) runs on the calling thread: a hand-off to the libuv pool and back
 * costs 30-45 µs on a 2-core VM (an MLP call of one row: 5 µs on the calling thread, 37 µs through
 * the pool), more than spreading so little work over the cores gains. The routing pass uses it too.
 */
export const SYNC_WORK_NS = 500_000;
/** MLP calls of up to this many rows run on the calling thread whatever their size. */
const SYNC_ROWS = 8;
/**
 * An MLP's multiply-adds at ~0.02 ns each on the calling thread (same VM: 273 -> 275 over 16-256
 * rows, 0.013-0.019 ns), rounded up: 256 such rows (365 µs) run here.
 */
const NS_PER_MAC = 0.025;

class NativeIndex extends BaseIndex {
  /** The addon's index (for the fused routing pass, which searches it from native code). */
  readonly handle: NativeIndexHandle;

  constructor(addon: NativeAddon, device: Device, options: IndexOptions) {
    super(device, options, true);
    try {
      this.handle = new addon.Index(this.dim, this.dtype, device);
    } catch (e) {
      throw fromNative(e);
    }
  }
  protected rawSize(): number {
    return this.handle.size();
  }
  protected rawAdd(ids: BigInt64Array, vectors: Float32Array): Promise<void> {
    return this.handle.add(ids, vectors);
  }
  protected rawRemove(ids: BigInt64Array): Promise<number> {
    return this.handle.remove(ids);
  }
  protected rawSearch(queries: Float32Array, k: number, metric: Metric): Promise<RawSearch> {
    return this.handle.search(queries, k, metric);
  }
  protected rawGet(id: bigint): Float32Array | null {
    return this.handle.get(id);
  }
  protected override rawGetRows(ids: BigInt64Array, out: Float32Array): number {
    return this.handle.getRows(ids, out);
  }
  protected rawFree(): void {
    this.handle.free();
  }
}

export class NativeBackend implements ComputeBackend {
  private readonly tables = new WeakMap<EmbeddingTable, { data: EmbeddingTable['data']; handle: NativeTableHandle }>();
  private readonly nets = new WeakMap<MlpWeights, NativeMlpHandle>();

  private constructor(
    readonly name: Device,
    readonly addon: NativeAddon,
  ) {}

  /** Creates the backend, or throws ARB_BACKEND_UNAVAILABLE with the reason. */
  static create(device: Device): NativeBackend {
    const addon = loadAddon();
    if (!addon) {
      const why = loadReport()
        .map((a) => `${a.path}: ${a.error}`)
        .join('; ');
      throw new ArbiterError(ErrorCodes.BACKEND_UNAVAILABLE, `the native addon did not load (${why})`);
    }
    if (device === 'cuda') {
      const cuda = addon.info().cuda;
      if (!cuda.available)
        throw new ArbiterError(
          ErrorCodes.BACKEND_UNAVAILABLE,
          cuda.compiled ? cuda.reason : 'the addon was built without CUDA',
        );
    }
    return new NativeBackend(device, addon);
  }

  info() {
    return this.addon.info();
  }

  async embedPool(
    table: EmbeddingTable,
    ids: Int32Array,
    offsets: Int32Array,
    options?: EmbedPoolOptions,
  ): Promise<Float32Array> {
    v.embedTable(table, false); // fp32 tables are checked for NaN/infinity natively, once per table
    v.embedInputs(table, ids, offsets, options);
    try {
      return await this.tableHandle(table).pool(ids, offsets, options?.weights ?? null, options?.normalize ?? true);
    } catch (e) {
      throw fromNative(e);
    }
  }

  createIndex(options: IndexOptions): BaseIndex {
    return new NativeIndex(this.addon, this.name, options);
  }

  async mlp(weights: MlpWeights, x: Float32Array): Promise<Float32Array> {
    const [inDim] = v.mlpWeights(weights);
    v.matrixRows(x, inDim, 'x', false); // NaN/infinity in x: checked natively, per row group, in SIMD
    try {
      let net = this.nets.get(weights);
      if (!net) {
        net = new this.addon.Mlp([...weights.layers], this.name);
        this.nets.set(weights, net);
      }
      // a few rows, or little work: on this thread (a hand-off to the libuv pool and back costs more, with jitter)
      const rows = x.length / inDim;
      const macs = weights.layers.reduce((sum, l) => sum + l.in * l.out, 0);
      if (net.forwardSync && (rows <= SYNC_ROWS || rows * macs * NS_PER_MAC <= SYNC_WORK_NS)) return net.forwardSync(x);
      return await net.forward(x);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** The native table for `table` (copied into native memory once, then reused). */
  tableHandle(table: EmbeddingTable): NativeTableHandle {
    const hit = this.tables.get(table);
    if (hit && hit.data === table.data) return hit.handle;
    const handle = new this.addon.EmbedTable(table.data, table.vocab, table.dim, this.name);
    this.tables.set(table, { data: table.data, handle });
    return handle;
  }
}

/**
 * The native parts behind a backend's table and an index, for the fused routing pass; null when
 * either is not native (the pass then does not apply). An approximate index gives its exact store.
 */
export function nativeHandles(
  backend: ComputeBackend,
  table: EmbeddingTable,
  index: VectorIndex,
): { addon: NativeAddon; table: NativeTableHandle; index: NativeIndexHandle } | null {
  const exact = index instanceof ApproximateIndex ? index.exact : index;
  if (!(backend instanceof NativeBackend) || !(exact instanceof NativeIndex)) return null;
  return { addon: backend.addon, table: backend.tableHandle(table), index: exact.handle };
}
