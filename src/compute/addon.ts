/**
 * Loads the native addon. The chain is short and logged: ARBITER_ADDON (an explicit path), then
 * the package's build/Release/arbiter.node. Each attempt is recorded in loadReport() and, with
 * ARBITER_DEBUG set, printed to stderr. Nothing found means the native backends are unavailable
 * (with the reasons), and selection falls back to gpujs or js.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { packageRoot } from '../paths.js';

/** The addon's private surface; users only see the TypeScript classes that own these handles. */
export interface NativeIndexHandle {
  add(ids: BigInt64Array, vectors: Float32Array): Promise<void>;
  remove(ids: BigInt64Array): Promise<number>;
  search(
    queries: Float32Array,
    k: number,
    metric: string,
  ): Promise<{ ids: BigInt64Array; scores: Float32Array; k: number }>;
  size(): number;
  get(id: bigint): Float32Array | null;
  /** Rows of the ids into out (ids × dim; an absent id's row zeros); returns how many were found. */
  getRows(ids: BigInt64Array, out: Float32Array): number;
  free(): void;
}
export interface NativeTableHandle {
  pool(ids: Int32Array, offsets: Int32Array, weights: Float32Array | null, normalize: boolean): Promise<Float32Array>;
  free(): void;
}
export interface NativeMlpHandle {
  forward(x: Float32Array): Promise<Float32Array>;
  /** The same on the calling thread (a few rows). Absent in addons built before it existed. */
  forwardSync?(x: Float32Array): Float32Array;
  free(): void;
}
export interface NativeTokenizerHandle {
  /** NFKC texts concatenated; markWords: '▁' before each non-empty text and for its spaces, natively. */
  encodeBatch(text: string, offsets: Float64Array, markWords: boolean): { ids: Int32Array; offsets: Int32Array };
}
export interface NativeAnalyzerHandle {
  /** Texts joined, offsets n + 1: features (n x 17) and the default rules' match counts (n x 16). */
  analyzeBatch(text: string, offsets: Float64Array): { features: Float64Array; counts: Int32Array };
}
/** What one RoutePass.run gives: per prompt its analysis vectors, embedding and neighbours. */
export interface NativePassResult {
  features: Float64Array;
  counts: Int32Array;
  embeddings: Float32Array;
  /** n x k neighbour ids and cosine scores, best first (k 0: no search). */
  ids: BigInt64Array;
  scores: Float32Array;
  k: number;
  n: number;
}
/** Texts as one string and its offsets (n + 1), or as an array of strings with offsets null. */
export interface NativeRoutePassHandle {
  run(
    questions: string | readonly string[],
    offsets: Float64Array | null,
    nfkc: string | readonly string[] | null,
    nfkcOffsets: Float64Array | null,
    k: number,
    /** false: the analysis alone (no tokens, pooling or search; embeddings empty; k must be 0). Default true. */
    embed?: boolean,
  ): Promise<NativePassResult>;
  /** The same on the calling thread alone (a prompt or two: no thread hand-offs). */
  runSync(
    questions: string | readonly string[],
    offsets: Float64Array | null,
    nfkc: string | readonly string[] | null,
    nfkcOffsets: Float64Array | null,
    k: number,
    embed?: boolean,
  ): NativePassResult;
}
export interface NativeInfo {
  simd: string;
  threads: number;
  cuda: { compiled: boolean; available: boolean; reason: string; device: string; deviceCount: number };
}
export interface NativeAddon {
  Index: new (dim: number, dtype: string, device: string) => NativeIndexHandle;
  EmbedTable: new (table: Float32Array | Uint16Array, vocab: number, dim: number, device: string) => NativeTableHandle;
  Mlp: new (layers: unknown[], device: string) => NativeMlpHandle;
  /** Absent in addons built before it existed. */
  Tokenizer?: new (pieces: string[], scores: Float64Array, reserved: number, unkId: number) => NativeTokenizerHandle;
  /** Absent in addons built before they existed. */
  Analyzer?: new (classes: Uint8Array) => NativeAnalyzerHandle;
  RoutePass?: new (
    analyzer: NativeAnalyzerHandle,
    tokenizer: NativeTokenizerHandle,
    table: NativeTableHandle,
    index: NativeIndexHandle | null,
  ) => NativeRoutePassHandle;
  info(): NativeInfo;
  setThreads(n: number): void;
  forceGenericKernels(on: boolean): void;
  /** The widest CPU kernels used from now on (as ARBITER_KERNELS): ARB_INVALID_ARGUMENT for another name. */
  limitKernels(widest: 'best' | 'avx512f' | 'avx2' | 'generic'): void;
}

export interface LoadAttempt {
  path: string;
  ok: boolean;
  error?: string;
}

let cached: { addon: NativeAddon | null; attempts: LoadAttempt[] } | undefined;

export function loadAddon(): NativeAddon | null {
  if (cached) return cached.addon;
  const require = createRequire(import.meta.url);
  const candidates = [process.env.ARBITER_ADDON, join(packageRoot(), 'build', 'Release', 'arbiter.node')].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  const attempts: LoadAttempt[] = [];
  let addon: NativeAddon | null = null;
  for (const path of candidates) {
    try {
      if (!existsSync(path)) throw new Error('file not found (run `npm run build:native`)');
      addon = require(path) as NativeAddon;
      attempts.push({ path, ok: true });
      break;
    } catch (e) {
      attempts.push({ path, ok: false, error: (e as Error).message.split('\n')[0] ?? String(e) });
    }
  }
  if (process.env.ARBITER_DEBUG)
    for (const a of attempts)
      process.stderr.write(
        `arbiter: addon ${a.ok ? 'loaded' : 'not loaded'} ${a.path}${a.error ? `: ${a.error}` : ''}\n`,
      );
  cached = { addon, attempts };
  return addon;
}

export function loadReport(): LoadAttempt[] {
  loadAddon();
  return cached?.attempts ?? [];
}
