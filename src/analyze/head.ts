/**
 * The trained analysis head: one dense layer over [embedding, standardised features, complexity]
 * that gives, per prompt,
 *   - task logits (multinomial logistic regression over the training labels), turned into a
 *     distribution with a fitted temperature and mixed with the manifold's kNN task vote;
 *   - the predicted "pool success" per task: the mean outcome the training models would reach on
 *     this prompt were it of that task (ridge regression, one per task). It is the prompt's
 *     learned ease (1 − difficulty) and drives the per-model quality calibration in the router.
 * Feature standardisation is folded into the layer, so inference is one backend `mlp` call.
 */
import { oneLayer, type ComputeBackend, type DenseLayer } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { featureVector, FEATURE_NAMES } from './features.js';
import type { PromptAnalysis } from './types.js';
import { dict, isEmpty } from '../names.js';

export interface AnalysisHead {
  /** Task labels, in output order. */
  tasks: string[];
  /** embedding dim + features + complexity. */
  inputDim: number;
  /** (2T) x inputDim: T task logits, then T pool-success values. */
  layer: DenseLayer;
  /** Divides the task logits before the softmax (fitted on held-out predictions). */
  temperature: number;
  /** Weight of the kNN task vote in the mixture with the head's distribution. */
  knnWeight: number;
}

export interface HeadOutput {
  /** n x T task probabilities (temperature applied, before the kNN mix). */
  taskProbs: Float32Array;
  /** n x T predicted pool success, clamped to [0.01, 0.99]. */
  ease: Float32Array;
}

export const headInputDim = (embeddingDim: number) => embeddingDim + FEATURE_NAMES.length + 1;

/** Rows [embedding, feature vector, complexity] for n prompts, n x headInputDim(dim). */
export function headInput(embeddings: Float32Array, analyses: readonly PromptAnalysis[], dim: number): Float32Array {
  const D = headInputDim(dim);
  const x = new Float32Array(analyses.length * D);
  analyses.forEach((a, i) => {
    x.set(embeddings.subarray(i * dim, (i + 1) * dim), i * D);
    x.set(featureVector(a.features), i * D + dim);
    x[i * D + D - 1] = a.complexity;
  });
  return x;
}

export async function applyHead(head: AnalysisHead, backend: ComputeBackend, x: Float32Array): Promise<HeadOutput> {
  if (x.length % head.inputDim !== 0)
    throw new ArbiterError(ErrorCodes.DIMENSION_MISMATCH, `head input must be n x ${head.inputDim}`, { param: 'x' });
  const T = head.tasks.length;
  const out = await backend.mlp(oneLayer(head.layer), x);
  const n = x.length / head.inputDim;
  const taskProbs = new Float32Array(n * T);
  const ease = new Float32Array(n * T);
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * 2 * T, (i + 1) * 2 * T);
    softmaxInto(row.subarray(0, T), head.temperature, taskProbs.subarray(i * T, (i + 1) * T));
    for (let t = 0; t < T; t++) ease[i * T + t] = Math.min(0.99, Math.max(0.01, row[T + t]!));
  }
  return { taskProbs, ease };
}

export function softmaxInto(logits: ArrayLike<number>, temperature: number, out: Float32Array | Float64Array): void {
  let max = -Infinity;
  for (let t = 0; t < logits.length; t++) max = Math.max(max, logits[t]! / temperature);
  let sum = 0;
  for (let t = 0; t < logits.length; t++) sum += out[t] = Math.exp(logits[t]! / temperature - max);
  for (let t = 0; t < logits.length; t++) out[t]! /= sum;
}

/** Softmax of logits / temperature, as a new array. */
export function softmax(logits: ArrayLike<number>, temperature: number): Float64Array {
  const out = new Float64Array(logits.length);
  softmaxInto(logits, temperature, out);
  return out;
}

/** The head's distribution mixed with a kNN vote's (absent or empty vote: the head's alone). */
export function mixTaskDistribution(
  head: AnalysisHead,
  probs: ArrayLike<number>,
  vote: Record<string, number> | undefined,
): Record<string, number> {
  const useVote = vote !== undefined && !isEmpty(vote);
  const w = useVote ? head.knnWeight : 0;
  const dist: Record<string, number> = dict();
  head.tasks.forEach((t, i) => (dist[t] = (1 - w) * probs[i]!));
  if (useVote) for (const t in vote) dist[t] = (dist[t] ?? 0) + w * vote[t]!;
  return dist;
}
