/**
 * The gpu.js backend: dot products (kNN scores, MLP layers) and pooling sums run as gpu.js
 * kernels — WebGL when headless GL is available, otherwise gpu.js's WebAssembly mode. gpu.js is
 * an optional dependency: if it is not installed this backend reports itself unavailable.
 * Normalisation, activations and top-k run in JS on the kernel outputs (float64).
 */
import { createRequire } from 'node:module';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { fromHalf } from './fp16.js';
import { HostIndex } from './host-index.js';
import { activate } from './js.js';
import type { ComputeBackend, EmbeddingTable, EmbedPoolOptions, IndexOptions, MlpWeights } from './types.js';
import * as v from './validate.js';

/* The few gpu.js types used here (its bundled typings need DOM types). */
interface Kernel {
  (...args: unknown[]): Float32Array | Float32Array[];
  setOutput(output: number[]): Kernel;
}
interface GpuLike {
  mode: string;
  createKernel(fn: (...args: never[]) => number, settings: Record<string, unknown>): Kernel;
  destroy(): void;
}
interface KernelThis {
  thread: { x: number; y: number };
  constants: { d: number };
}

/**
 * gpu.js's WebAssembly kernels compute flat indices in float32, which is exact only below 2^24:
 * every array a kernel indexes is kept under this many elements (larger inputs are chunked).
 */
const MAX_KERNEL_ELEMENTS = 2 ** 24;

function flatten(r: Float32Array | Float32Array[], rows: number, cols: number): Float32Array {
  if (r instanceof Float32Array) return r;
  const out = new Float32Array(rows * cols);
  r.forEach((row, i) => out.set(row.subarray(0, cols), i * cols));
  return out;
}

export class GpuJsBackend implements ComputeBackend {
  readonly name = 'gpujs' as const;
  private readonly kernels = new Map<string, Kernel>();

  private constructor(private readonly gpu: GpuLike) {}

  /** Creates the backend, or throws ARB_BACKEND_UNAVAILABLE when gpu.js cannot be loaded. */
  static create(): GpuJsBackend {
    let mod: { GPU: new (settings?: object) => GpuLike };
    try {
      mod = createRequire(import.meta.url)('gpu.js') as typeof mod;
    } catch (e) {
      throw new ArbiterError(
        ErrorCodes.BACKEND_UNAVAILABLE,
        `gpu.js is not installed (optional dependency): ${(e as Error).message.split('\n')[0]}`,
      );
    }
    return new GpuJsBackend(new mod.GPU());
  }

  get mode(): string {
    return this.gpu.mode;
  }

  private kernel(kind: 'dot' | 'pool', d: number): Kernel {
    const key = `${kind}:${d}`;
    let k = this.kernels.get(key);
    if (!k) {
      const dot = function (this: KernelThis, x: Float32Array, y: Float32Array) {
        let s = 0;
        for (let t = 0; t < this.constants.d; t++)
          s += x[this.thread.y * this.constants.d + t]! * y[this.thread.x * this.constants.d + t]!;
        return s;
      };
      const pool = function (this: KernelThis, tab: Float32Array, id: Int32Array, off: Int32Array, wt: Float32Array) {
        let s = 0;
        for (let j = off[this.thread.y]!; j < off[this.thread.y + 1]!; j++)
          s += wt[j]! * tab[id[j]! * this.constants.d + this.thread.x]!;
        return s;
      };
      k = this.gpu.createKernel((kind === 'dot' ? dot : pool) as unknown as (...args: never[]) => number, {
        constants: { d },
        dynamicOutput: true,
        dynamicArguments: true,
        output: [1, 1],
      });
      this.kernels.set(key, k);
    }
    return k;
  }

  /** out[i * m + j] = a[i] . b[j] for a: n x d, b: m x d, in chunks that keep indices exact. */
  private async dots(a: Float32Array, n: number, b: Float32Array, m: number, d: number): Promise<Float32Array> {
    const k = this.kernel('dot', d);
    const out = new Float32Array(n * m);
    const step = Math.max(1, Math.floor(MAX_KERNEL_ELEMENTS / d));
    for (let i0 = 0; i0 < n; i0 += step) {
      const rows = Math.min(step, n - i0);
      const ai = a.subarray(i0 * d, (i0 + rows) * d);
      for (let j0 = 0; j0 < m; j0 += step) {
        const cols = Math.min(step, m - j0);
        k.setOutput([cols, rows]);
        const part = flatten(k(ai, b.subarray(j0 * d, (j0 + cols) * d)), rows, cols);
        for (let i = 0; i < rows; i++) out.set(part.subarray(i * cols, (i + 1) * cols), (i0 + i) * m + j0);
      }
    }
    return out;
  }

  /** Weighted sums per bag, over chunks of bags whose gathered rows stay under the index limit. */
  private poolSums(
    table: EmbeddingTable,
    ids: Int32Array,
    offsets: Int32Array,
    w: Float32Array,
    nb: number,
  ): Float32Array {
    const d = table.dim;
    const k = this.kernel('pool', d);
    const sums = new Float32Array(nb * d);
    const maxRows = Math.max(1, Math.floor(MAX_KERNEL_ELEMENTS / d));
    for (let b0 = 0; b0 < nb;) {
      const slot = new Map<number, number>(); // table row -> row of the compact table
      let b1 = b0;
      while (b1 < nb) {
        const bagIds = ids.subarray(offsets[b1]!, offsets[b1 + 1]!);
        const fresh = new Set(Array.from(bagIds).filter((id) => !slot.has(id))).size;
        const full = slot.size + fresh > maxRows || offsets[b1 + 1]! - offsets[b0]! > MAX_KERNEL_ELEMENTS;
        if (full && b1 > b0) break;
        for (const id of bagIds) if (!slot.has(id)) slot.set(id, slot.size);
        b1++;
      }
      const compact = new Float32Array(Math.max(1, slot.size) * d);
      for (const [id, at] of slot) {
        const row = table.data.subarray(id * d, (id + 1) * d);
        compact.set(row instanceof Uint16Array ? fromHalf(row) : row, at * d);
      }
      const j0 = offsets[b0]!;
      const j1 = offsets[b1]!;
      // gpu.js cannot take empty arrays: an empty chunk gets one unused entry
      const localIds = j1 > j0 ? Int32Array.from(ids.subarray(j0, j1), (id) => slot.get(id)!) : new Int32Array(1);
      const localW = j1 > j0 ? w.subarray(j0, j1) : new Float32Array(1);
      const localOff = Int32Array.from(offsets.subarray(b0, b1 + 1), (o) => o - j0);
      k.setOutput([d, b1 - b0]);
      sums.set(flatten(k(compact, localIds, localOff, localW), b1 - b0, d), b0 * d);
      b0 = b1;
    }
    return sums;
  }

  async embedPool(
    table: EmbeddingTable,
    ids: Int32Array,
    offsets: Int32Array,
    options?: EmbedPoolOptions,
  ): Promise<Float32Array> {
    v.embedTable(table);
    const nb = v.embedInputs(table, ids, offsets, options);
    const d = table.dim;
    if (nb === 0) return new Float32Array(0);
    const w = options?.weights ?? new Float32Array(ids.length).fill(1);
    const sums = this.poolSums(table, ids, offsets, w, nb);
    const normalize = options?.normalize ?? true;
    const out = new Float32Array(nb * d);
    for (let b = 0; b < nb; b++) {
      let wsum = 0;
      for (let j = offsets[b]!; j < offsets[b + 1]!; j++) wsum += w[j]!;
      if (wsum <= 0) continue;
      let scale = 1 / wsum;
      if (normalize) {
        let ss = 0;
        for (let t = 0; t < d; t++) ss += sums[b * d + t]! ** 2;
        scale = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      }
      for (let t = 0; t < d; t++) out[b * d + t] = sums[b * d + t]! * scale;
    }
    return out;
  }

  createIndex(options: IndexOptions): HostIndex {
    return new HostIndex('gpujs', options, (q, nq, rows, n, d) => this.dots(q, nq, rows, n, d));
  }

  async mlp(weights: MlpWeights, x: Float32Array): Promise<Float32Array> {
    const [inDim, outDim] = v.mlpWeights(weights);
    const n = v.matrixRows(x, inDim, 'x');
    if (n === 0) return new Float32Array(0);
    let cur = x;
    for (const L of weights.layers) {
      const z = await this.dots(cur, n, L.weight, L.out, L.in);
      const next = new Float32Array(n * L.out);
      const row = new Float64Array(L.out);
      for (let i = 0; i < n; i++) {
        for (let o = 0; o < L.out; o++) row[o] = z[i * L.out + o]! + (L.bias ? L.bias[o]! : 0);
        activate(L.activation, row);
        next.set(row, i * L.out);
      }
      cur = next;
    }
    return cur.length === n * outDim ? cur : cur.subarray(0, n * outDim);
  }
}
