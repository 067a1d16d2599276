/**
 * Out-of-distribution signal of a trained router: is a prompt like the prompts it was trained on?
 * Two scores, both fitted on out-of-fold predictions of the training prompts (learn/ood.ts):
 *   - distance: the Mahalanobis distance of the head's input (embedding + prompt features) to the
 *     nearest task's mean, under the tasks' shared covariance (shrunk toward its diagonal);
 *   - entropy: the normalised entropy of the task distribution (head mixed with the kNN vote).
 * Each gives a conformal p-value — the share of training prompts at least as unusual — and the
 * prompt's p-value is the smaller one times two (Bonferroni), so at level α at most ≈ α of the
 * prompts like the training prompts are flagged. A flagged prompt routes as `general` on the
 * priors (source `ood`), its task confidence the p-value.
 */
import { oneLayer, type ComputeBackend, type DenseLayer } from '../compute/index.js';

/** The default significance level (config routing.oodLevel's default). */
export const OOD_LEVEL = 0.02;

/** ood.json in a router model folder (the precision matrix is ood.f32, inputDim² float32). */
export interface OodFile {
  tasks: string[];
  inputDim: number;
  /** Per task: mean of the head's input (tasks × inputDim). */
  means: number[][];
  /** Shrinkage of the covariance toward its diagonal's mean. */
  shrinkage: number;
  /** Out-of-fold scores of the training prompts, ascending: the reference distributions. */
  distance: number[];
  /** Empty when the head has one task (its entropy is always 0). */
  entropy: number[];
  /** How the reference scores were made. */
  from: string;
}

export interface OodScore {
  /** Squared Mahalanobis distance to the nearest task mean. */
  distance: number;
  /** Normalised entropy of the task distribution, 0..1. */
  entropy: number;
  /** Bonferroni-adjusted conformal p-value: small = unlike the training prompts. */
  pValue: number;
}

/** Share of the ascending `ref` at least `x` (with the +1 of a conformal p-value). */
export function upperPValue(ref: readonly number[], x: number): number {
  let lo = 0;
  let hi = ref.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ref[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return (ref.length - lo + 1) / (ref.length + 1);
}

/** Entropy of a distribution over `tasks` outcomes, divided by log(tasks); 0 for one task. */
export function normalisedEntropy(dist: Record<string, number>, tasks: number): number {
  if (tasks < 2) return 0;
  let h = 0;
  for (const t in dist) {
    const p = dist[t]!;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.min(1, Math.max(0, h / Math.log(tasks)));
}

export class OodDetector {
  private readonly layer: DenseLayer;
  private readonly center: Float64Array;
  /** Per group: δᵀPδ, δ = group mean − center (P·δ is a row of the layer). */
  private readonly dPd: number[];

  constructor(
    readonly file: OodFile,
    precision: Float32Array,
  ) {
    const D = file.inputDim;
    this.center = new Float64Array(D);
    for (const m of file.means) for (let j = 0; j < D; j++) this.center[j]! += m[j]! / file.means.length;
    const pDelta = file.means.map((m) => {
      const out = new Float64Array(D);
      for (let r = 0; r < D; r++) {
        let s = 0;
        for (let c = 0; c < D; c++) s += precision[r * D + c]! * (m[c]! - this.center[c]!);
        out[r] = s;
      }
      return out;
    });
    this.dPd = file.means.map((m, t) => m.reduce((s, v, j) => s + (v - this.center[j]!) * pDelta[t]![j]!, 0));
    // one product on the backend gives P·x' (D rows) and every group's (P·δ)ᵀx' (one row each)
    const G = file.means.length;
    const weight = new Float32Array((D + G) * D);
    weight.set(precision);
    pDelta.forEach((pd, g) => weight.set(pd, (D + g) * D));
    this.layer = { in: D, out: D + G, weight, activation: 'none' };
  }

  /** Squared distances of n head inputs (n × inputDim) to the nearest task mean, on the backend. */
  async distances(backend: ComputeBackend, x: Float32Array): Promise<Float64Array> {
    const D = this.file.inputDim;
    const n = x.length / D;
    const centred = new Float32Array(x.length);
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) centred[i * D + j] = x[i * D + j]! - this.center[j]!;
    const W = this.layer.out;
    const px = await backend.mlp(oneLayer(this.layer), centred);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let q = 0;
      for (let j = 0; j < D; j++) q += centred[i * D + j]! * px[i * W + j]!;
      let best = Infinity;
      for (let g = 0; g < this.dPd.length; g++) best = Math.min(best, q - 2 * px[i * W + D + g]! + this.dPd[g]!);
      out[i] = Math.max(0, best);
    }
    return out;
  }

  /** The score of one prompt from its distance and its task distribution. */
  score(distance: number, dist: Record<string, number>): OodScore {
    const entropy = normalisedEntropy(dist, this.file.tasks.length);
    const pd = upperPValue(this.file.distance, distance);
    const signals = this.file.entropy.length ? 2 : 1;
    const pe = this.file.entropy.length ? upperPValue(this.file.entropy, entropy) : 1;
    return { distance, entropy, pValue: Math.min(1, signals * Math.min(pd, pe)) };
  }
}
