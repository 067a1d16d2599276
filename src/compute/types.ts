/**
 * The compute contract every backend implements: flat typed arrays in and out, shapes given
 * explicitly, all work asynchronous. See DESIGN.md, "Compute contract".
 */

export type BackendName = 'cuda' | 'cpu' | 'gpujs' | 'js';
export const BACKEND_NAMES: readonly BackendName[] = ['cuda', 'cpu', 'gpujs', 'js'];

/** Similarity for search: inner product, cosine, or squared Euclidean distance. */
export type Metric = 'ip' | 'cos' | 'l2';
/** Storage precision of index rows and embedding tables. */
export type DType = 'f32' | 'f16';
/** How ids cross the boundary: Int32Array (default) or BigInt64Array. */
export type IdType = 'i32' | 'i64';
export type Ids = Int32Array | BigInt64Array;

/** A token-vector table: vocab x dim rows, fp32 values or fp16 bit patterns (Uint16Array). */
export interface EmbeddingTable {
  readonly data: Float32Array | Uint16Array;
  readonly vocab: number;
  readonly dim: number;
}

export interface EmbedPoolOptions {
  /** Per-token weights (>= 0), one per id. */
  weights?: Float32Array;
  /** L2-normalise each pooled row (default true); false returns the weighted mean. */
  normalize?: boolean;
}

export type Activation = 'none' | 'relu' | 'gelu' | 'sigmoid' | 'softmax';
export const ACTIVATIONS: readonly Activation[] = ['none', 'relu', 'gelu', 'sigmoid', 'softmax'];

export interface DenseLayer {
  readonly in: number;
  readonly out: number;
  /** out x in, row-major. */
  readonly weight: Float32Array;
  /** out values; zeros when absent. */
  readonly bias?: Float32Array;
  /** 'gelu' is the exact erf form; 'softmax' only on the last layer. */
  readonly activation: Activation;
}

/** A small MLP. Treated as immutable once used: backends may cache a compiled copy. */
export interface MlpWeights {
  readonly layers: readonly DenseLayer[];
}

export interface IndexOptions {
  dim: number;
  dtype?: DType;
  idType?: IdType;
}

export interface SearchResult {
  /** n x k ids, best first. */
  ids: Ids;
  /** n x k scores: similarity for 'ip'/'cos', squared distance for 'l2'. */
  scores: Float32Array;
  /** Columns per query: min(k requested, index size). */
  k: number;
  /** Number of queries. */
  n: number;
}

/** An exact top-k index held by a backend (native memory for cpu/cuda). */
export interface VectorIndex {
  readonly dim: number;
  readonly dtype: DType;
  readonly idType: IdType;
  readonly backend: BackendName;
  readonly size: number;
  /** Adds rows; every id must be new (ARB_DUPLICATE_ID otherwise, and nothing is added). */
  add(ids: Ids, vectors: Float32Array): Promise<void>;
  /** Removes rows by id; unknown ids are ignored. Resolves to the number removed. */
  remove(ids: Ids): Promise<number>;
  search(queries: Float32Array, k: number, metric?: Metric): Promise<SearchResult>;
  /** The stored row (after fp16 rounding for f16), or null. */
  get(id: number | bigint): Float32Array | null;
  /** The stored rows of these ids (ids × dim, in their order), or null when one of them is absent. */
  getRows(ids: Ids): Float32Array | null;
  /** Releases the memory now; later calls fail with ARB_FREED. */
  free(): void;
}

export interface ComputeBackend {
  readonly name: BackendName;
  /** Static embeddings: per bag, the weighted mean of table rows, L2-normalised. Output n x dim. */
  embedPool(
    table: EmbeddingTable,
    ids: Int32Array,
    offsets: Int32Array,
    options?: EmbedPoolOptions,
  ): Promise<Float32Array>;
  createIndex(options: IndexOptions): VectorIndex;
  /** Batched MLP forward: x is n x in, output n x out. */
  mlp(weights: MlpWeights, x: Float32Array): Promise<Float32Array>;
}

const single = new WeakMap<DenseLayer, MlpWeights>();
/**
 * The one-layer network of `layer`, the same object on every call: backends cache compiled
 * weights by the network object, so a fresh `{ layers: [layer] }` per call would upload them again.
 */
export function oneLayer(layer: DenseLayer): MlpWeights {
  let net = single.get(layer);
  if (!net) single.set(layer, (net = { layers: [layer] }));
  return net;
}
