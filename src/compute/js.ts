/**
 * The plain TypeScript backend: the reference every other backend is tested against, and the
 * last fallback. Accumulates in float64; no tricks.
 */
import { halfToFloat } from './fp16.js';
import { HostIndex } from './host-index.js';
import type { ComputeBackend, EmbeddingTable, EmbedPoolOptions, IndexOptions, MlpWeights } from './types.js';
import * as v from './validate.js';

/** erf by Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, well inside the MLP parity tolerance. */
export function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

export function activate(act: string, y: Float64Array): void {
  switch (act) {
    case 'relu':
      for (let j = 0; j < y.length; j++) y[j] = Math.max(0, y[j]!);
      break;
    case 'gelu':
      for (let j = 0; j < y.length; j++) y[j] = 0.5 * y[j]! * (1 + erf(y[j]! / Math.SQRT2));
      break;
    case 'sigmoid':
      for (let j = 0; j < y.length; j++) y[j] = 1 / (1 + Math.exp(-y[j]!));
      break;
    case 'softmax': {
      let m = -Infinity;
      for (const x of y) m = Math.max(m, x);
      let z = 0;
      for (let j = 0; j < y.length; j++) {
        y[j] = Math.exp(y[j]! - m);
        z += y[j]!;
      }
      for (let j = 0; j < y.length; j++) y[j] = y[j]! / z;
      break;
    }
    default:
      break;
  }
}

/** Float64 dot products: the reference. */
async function jsDots(
  queries: Float32Array,
  nq: number,
  rows: Float32Array,
  n: number,
  d: number,
): Promise<Float64Array> {
  const out = new Float64Array(nq * n);
  for (let q = 0; q < nq; q++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += queries[q * d + t]! * rows[j * d + t]!;
      out[q * n + j] = s;
    }
  return out;
}

export class JsBackend implements ComputeBackend {
  readonly name = 'js' as const;

  async embedPool(
    table: EmbeddingTable,
    ids: Int32Array,
    offsets: Int32Array,
    options?: EmbedPoolOptions,
  ): Promise<Float32Array> {
    v.embedTable(table);
    const nb = v.embedInputs(table, ids, offsets, options);
    const d = table.dim;
    const w = options?.weights;
    const normalize = options?.normalize ?? true;
    const half = table.data instanceof Uint16Array;
    const out = new Float32Array(nb * d);
    const acc = new Float64Array(d);
    for (let b = 0; b < nb; b++) {
      acc.fill(0);
      let wsum = 0;
      for (let j = offsets[b]!; j < offsets[b + 1]!; j++) {
        const wj = w ? w[j]! : 1;
        wsum += wj;
        const row = ids[j]! * d;
        for (let t = 0; t < d; t++)
          acc[t] = acc[t]! + wj * (half ? halfToFloat(table.data[row + t]!) : table.data[row + t]!);
      }
      if (wsum <= 0) continue;
      let scale = 1 / wsum;
      if (normalize) {
        let ss = 0;
        for (const x of acc) ss += x * x;
        scale = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      }
      for (let t = 0; t < d; t++) out[b * d + t] = acc[t]! * scale;
    }
    return out;
  }

  createIndex(options: IndexOptions): HostIndex {
    return new HostIndex('js', options, jsDots);
  }

  async mlp(weights: MlpWeights, x: Float32Array): Promise<Float32Array> {
    const [inDim, outDim] = v.mlpWeights(weights);
    const n = v.matrixRows(x, inDim, 'x');
    const out = new Float32Array(n * outDim);
    for (let i = 0; i < n; i++) {
      let cur = Float64Array.from(x.subarray(i * inDim, (i + 1) * inDim));
      for (const L of weights.layers) {
        const nxt = new Float64Array(L.out);
        for (let o = 0; o < L.out; o++) {
          let s = L.bias ? L.bias[o]! : 0;
          for (let t = 0; t < L.in; t++) s += L.weight[o * L.in + t]! * cur[t]!;
          nxt[o] = s;
        }
        activate(L.activation, nxt);
        cur = nxt;
      }
      out.set(cur, i * outDim);
    }
    return out;
  }
}
