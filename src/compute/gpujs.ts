/**
 * The gpu.js backend: dot products (kNN scores, MLP layers) and pooling sums run as gpu.js
 * kernels — WebGL when headless GL is available, otherwise gpu.js's WebAssembly mode. gpu.js is
 * an optional dependency: if it is not installed this backend reports itself unavailable.
 * Normalisation, activations and top-k run in JS on the kernel outputs (float64).
 */
import { createRequire } from 'node:module';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { HostIndex } from './host-index.js';
import { activate } from './js.js';
import { fromHalf } from './fp16.js';
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

function flatten(r: Float32Array | Float32Array[], rows: number, cols: number): Float32Array {
  if (r instanceof Float32Array) return r;
  const out = new Float32Array(rows * cols);
  r.forEach((row, i) => out.set(row.subarray(0, cols), i * cols));
  return out;
}

export class GpuJsBackend implements ComputeBackend {
  readonly name = 'gpujs' as const;
  private readonly dotKernels = new Map<number, Kernel>();
  private readonly poolKernels = new Map<number, Kernel>();

  private constructor(private readonly gpu: GpuLike) {}

  /** Creates the backend, or throws ARB_BACKEND_UNAVAILABLE when gpu.js cannot be loaded. */
  static create(): GpuJsBackend {
    let mod: { GPU: new (settings?: object) => GpuLike };
    try {
      mod = createRequire(import.meta.url)('gpu.js') as typeof mod;
    } catch (e) {
      throw new ArbiterError(ErrorCodes.BACKEND_UNAVAILABLE, `gpu.js is not installed (optional dependency): ${(e as Error).message.split('\n')[0]}`);
    }
    return new GpuJsBackend(new mod.GPU());
  }

  get mode(): string {
    return this.gpu.mode;
  }

  /** out[i * m + j] = a[i] . b[j] for a: n x d, b: m x d. */
  private async dots(a: Float32Array, n: number, b: Float32Array, m: number, d: number): Promise<Float32Array> {
    let k = this.dotKernels.get(d);
    if (!k) {
      k = this.gpu.createKernel(
        function (this: KernelThis, x: Float32Array, y: Float32Array) {
          let s = 0;
          for (let t = 0; t < this.constants.d; t++) s += x[this.thread.y * this.constants.d + t]! * y[this.thread.x * this.constants.d + t]!;
          return s;
        } as unknown as (...args: never[]) => number,
        { constants: { d }, dynamicOutput: true, dynamicArguments: true, output: [1, 1] },
      );
      this.dotKernels.set(d, k);
    }
    k.setOutput([m, n]);
    return flatten(k(a, b), n, m);
  }

  async embedPool(table: EmbeddingTable, ids: Int32Array, offsets: Int32Array, options?: EmbedPoolOptions): Promise<Float32Array> {
    v.embedTable(table);
    const nb = v.embedInputs(table, ids, offsets, options);
    const d = table.dim;
    if (nb === 0) return new Float32Array(0);
    const data = table.data instanceof Uint16Array ? fromHalf(table.data) : table.data;
    const w = options?.weights ?? new Float32Array(ids.length).fill(1);
    let k = this.poolKernels.get(d);
    if (!k) {
      k = this.gpu.createKernel(
        function (this: KernelThis, tab: Float32Array, id: Int32Array, off: Int32Array, wt: Float32Array) {
          let s = 0;
          for (let j = off[this.thread.y]!; j < off[this.thread.y + 1]!; j++) s += wt[j]! * tab[id[j]! * this.constants.d + this.thread.x]!;
          return s;
        } as unknown as (...args: never[]) => number,
        { constants: { d }, dynamicOutput: true, dynamicArguments: true, output: [1, 1] },
      );
      this.poolKernels.set(d, k);
    }
    k.setOutput([d, nb]);
    // gpu.js cannot take empty arrays: pad ids/weights with one unused entry
    const idsIn = ids.length ? ids : new Int32Array(1);
    const wIn = ids.length ? w : new Float32Array(1);
    const sums = flatten(k(data, idsIn, offsets, wIn), nb, d);
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
