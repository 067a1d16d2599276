/**
 * Fitting the analysis head (see analyze/head.ts for what it is and how it is applied): the task
 * softmax and the per-task ease ridge regressions, the task temperature and kNN mix weight fitted
 * on out-of-fold predictions, and the raw logits used while training.
 */
import { Matrix, solve } from 'ml-matrix';

import { softmaxInto, type AnalysisHead } from '../analyze/index.js';
import { oneLayer, type ComputeBackend } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';

/** Smallest standard deviation an input is divided by when standardised. */
const MIN_SD = 1e-3;

export interface HeadTrainingSet {
  /** n x D inputs (headInput). */
  x: Float32Array;
  /** Task index per row, or -1 when unlabelled. */
  task: Int32Array;
  /** Pool success per row (mean outcome over its models), NaN when none. */
  success: Float64Array;
}

export interface HeadFitOptions {
  /** L2 penalty of the task regression, per example. */
  taskL2?: number;
  /** Ridge penalty of the pool-success regression, per example. */
  easeL2?: number;
  iterations?: number;
}

/**
 * Fits the layer (temperature 1, no kNN weight: calibrate those on held-out predictions). With a
 * compute backend the task regression's products run as its batched dense layers (fitSoftmaxGemm);
 * without one, in plain JavaScript (fitSoftmax: the reference the other is checked against).
 */
export async function fitHead(
  data: HeadTrainingSet,
  tasks: string[],
  D: number,
  options: HeadFitOptions = {},
  backend?: ComputeBackend,
): Promise<AnalysisHead> {
  const n = data.task.length;
  const T = tasks.length;
  if (T === 0)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'the analysis head needs at least one task label', {
      param: 'tasks',
    });
  // standardise the inputs (folded into the layer at the end)
  const { mu, sd, z } = standardise(data.x, n, D);

  const W = new Float64Array(2 * T * D); // standardised-space weights
  const b = new Float64Array(2 * T);
  const l2 = options.taskL2 ?? 1e-2;
  const problem: SoftmaxFit = { z, task: data.task, n, D, T, l2, iterations: options.iterations ?? 300, W, b };
  await (backend ? fitSoftmaxGemm(backend, problem) : fitSoftmax(problem));

  // ridge per task: pool success on the standardised inputs of that task's rows
  const easeL2 = options.easeL2 ?? 0.1;
  const all = [...Array(n).keys()].filter((i) => !Number.isNaN(data.success[i]!));
  const overall = all.length ? all.reduce((s, i) => s + data.success[i]!, 0) / all.length : 0.5;
  for (let t = 0; t < T; t++) {
    let rows = all.filter((i) => data.task[i] === t);
    if (rows.length < 8) rows = all; // too few of this task: share the overall fit
    if (!rows.length) {
      b[T + t] = overall;
      continue;
    }
    const ym = rows.reduce((s, i) => s + data.success[i]!, 0) / rows.length;
    // normal equations accumulated row by row (upper triangle), then mirrored
    const XtX = new Float64Array(D * D);
    const Xty = new Float64Array(D);
    for (const i of rows) {
      const x = z.subarray(i * D, (i + 1) * D);
      const yi = data.success[i]! - ym;
      for (let j = 0; j < D; j++) {
        const xj = x[j]!;
        if (xj === 0) continue;
        Xty[j]! += xj * yi;
        const base = j * D;
        for (let k = j; k < D; k++) XtX[base + k]! += xj * x[k]!;
      }
    }
    const A = new Matrix(D, D);
    for (let j = 0; j < D; j++)
      for (let k = j; k < D; k++) {
        A.set(j, k, XtX[j * D + k]!);
        A.set(k, j, XtX[j * D + k]!);
      }
    for (let j = 0; j < D; j++) A.set(j, j, A.get(j, j) + easeL2 * rows.length);
    const w = solve(A, Matrix.columnVector(Array.from(Xty))).getColumn(0);
    for (let j = 0; j < D; j++) W[(T + t) * D + j] = w[j]!;
    b[T + t] = ym;
  }
  // fold the standardisation in: w·(x − mu)/sd + b = (w/sd)·x + (b − Σ w·mu/sd)
  const weight = new Float32Array(2 * T * D);
  const bias = new Float32Array(2 * T);
  for (let o = 0; o < 2 * T; o++) {
    let shift = 0;
    for (let j = 0; j < D; j++) {
      weight[o * D + j] = W[o * D + j]! / sd[j]!;
      shift += (W[o * D + j]! * mu[j]!) / sd[j]!;
    }
    bias[o] = b[o]! - shift;
  }
  return {
    tasks: [...tasks],
    inputDim: D,
    layer: { in: D, out: 2 * T, weight, bias, activation: 'none' },
    temperature: 1,
    knnWeight: 0,
  };
}

/** Rows the task regression sees at most (an even-strided sample beyond): the fit is converged long before. */
const MAX_TASK_ROWS = 6000;

/** Per-input mean and standard deviation, and the standardised rows (n x D). */
function standardise(x: Float32Array, n: number, D: number): { mu: Float64Array; sd: Float64Array; z: Float64Array } {
  const mu = new Float64Array(D);
  const sd = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) mu[j]! += x[i * D + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) sd[j]! += (x[i * D + j]! - mu[j]!) ** 2 / n;
  // near-constant inputs are not scaled up: their noise would get huge weights, and folding those
  // into a float32 layer cancels catastrophically
  for (let j = 0; j < D; j++) sd[j] = Math.max(Math.sqrt(sd[j]!), MIN_SD);
  const z = new Float64Array(n * D);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) z[i * D + j] = (x[i * D + j]! - mu[j]!) / sd[j]!;
  return { mu, sd, z };
}

/** The task regression's problem: standardised inputs z (n x D), task per row, and the weights it fits in place. */
interface SoftmaxFit {
  z: Float64Array;
  task: Int32Array;
  n: number;
  D: number;
  T: number;
  l2: number;
  iterations: number;
  W: Float64Array;
  b: Float64Array;
}

/**
 * Multinomial logistic regression by Adam on the full batch (rows with task -1 are skipped),
 * stopping once the penalised loss improves by less than 1e-5 (relative) for 5 iterations.
 */
function fitSoftmax({ z, task, n, D, T, l2, iterations, W, b }: SoftmaxFit): void {
  const rows = taskRows(task, n);
  if (!rows.length || T < 2) return; // one task: constant logits
  const gW = new Float64Array(T * D);
  const gb = new Float64Array(T);
  const p = new Float64Array(T);
  const opt = adam(T * D, T);
  let prev = Infinity;
  let flat = 0;
  for (let it = 1; it <= iterations; it++) {
    gW.fill(0);
    gb.fill(0);
    let loss = 0;
    for (const i of rows) {
      const x = z.subarray(i * D, (i + 1) * D);
      for (let t = 0; t < T; t++) {
        let s = b[t]!;
        for (let j = 0; j < D; j++) s += W[t * D + j]! * x[j]!;
        p[t] = s;
      }
      softmaxInto(p, 1, p);
      loss -= Math.log(Math.max(p[task[i]!]!, 1e-12)) / rows.length;
      for (let t = 0; t < T; t++) {
        const e = (p[t]! - (task[i] === t ? 1 : 0)) / rows.length;
        gb[t]! += e;
        for (let j = 0; j < D; j++) gW[t * D + j]! += e * x[j]!;
      }
    }
    for (let j = 0; j < T * D; j++) {
      gW[j]! += l2 * W[j]!;
      loss += 0.5 * l2 * W[j]! ** 2;
    }
    flat = Math.abs(prev - loss) < 1e-5 * loss ? flat + 1 : 0;
    if (flat >= 5) break;
    prev = loss;
    opt(it, W, gW, b, gb);
  }
}

/** The rows the task regression fits on: labelled ones, an even-strided sample beyond MAX_TASK_ROWS. */
function taskRows(task: Int32Array, n: number): number[] {
  const rows = [...Array(n).keys()].filter((i) => task[i]! >= 0);
  if (rows.length <= MAX_TASK_ROWS) return rows;
  const step = rows.length / MAX_TASK_ROWS;
  return Array.from({ length: MAX_TASK_ROWS }, (_, j) => rows[Math.floor(j * step)]!);
}

/**
 * fitSoftmax's fit with its two products per iteration — logits Z·Wᵀ (rows × T) and the gradient
 * Eᵀ·Z (T × D) — run as the backend's batched dense layers in float32 (native GEMM where there is
 * one); the loss, softmax, Adam update and stopping rule as in fitSoftmax, in float64.
 */
async function fitSoftmaxGemm(
  backend: ComputeBackend,
  { z, task, n, D, T, l2, iterations, W, b }: SoftmaxFit,
): Promise<void> {
  const rows = taskRows(task, n);
  const R = rows.length;
  if (!R || T < 2) return;
  const X = new Float32Array(R * D); // the rows, R x D
  const Xt = new Float32Array(D * R); // transposed, D x R: the gradient layer's weight
  rows.forEach((i, r) => {
    for (let j = 0; j < D; j++) {
      const v = z[i * D + j]!;
      X[r * D + j] = v;
      Xt[j * R + r] = v;
    }
  });
  const grad = { layers: [{ in: R, out: D, weight: Xt, activation: 'none' as const }] };
  const Et = new Float32Array(T * R);
  const opt = adam(T * D, T);
  const gW = new Float64Array(T * D);
  const gb = new Float64Array(T);
  const p = new Float64Array(T);
  let prev = Infinity;
  let flat = 0;
  for (let it = 1; it <= iterations; it++) {
    const logits = await backend.mlp(
      {
        layers: [
          {
            in: D,
            out: T,
            weight: Float32Array.from(W.subarray(0, T * D)),
            bias: Float32Array.from(b.subarray(0, T)),
            activation: 'none',
          },
        ],
      },
      X,
    );
    let loss = 0;
    gb.fill(0);
    for (let r = 0; r < R; r++) {
      for (let t = 0; t < T; t++) p[t] = logits[r * T + t]!;
      softmaxInto(p, 1, p);
      const y = task[rows[r]!]!;
      loss -= Math.log(Math.max(p[y]!, 1e-12)) / R;
      for (let t = 0; t < T; t++) {
        const e = (p[t]! - (y === t ? 1 : 0)) / R;
        Et[t * R + r] = e;
        gb[t]! += e;
      }
    }
    const g = await backend.mlp(grad, Et); // T x D = Eᵀ·Z
    for (let j = 0; j < T * D; j++) {
      gW[j] = g[j]! + l2 * W[j]!;
      loss += 0.5 * l2 * W[j]! ** 2;
    }
    flat = Math.abs(prev - loss) < 1e-5 * loss ? flat + 1 : 0;
    if (flat >= 5) break;
    prev = loss;
    opt(it, W, gW, b, gb);
  }
}

/** Adam (lr 0.05, β 0.9 / 0.999) over a weight block and a bias block, as fitSoftmax steps. */
function adam(nw: number, nb: number) {
  const mW = new Float64Array(nw);
  const vW = new Float64Array(nw);
  const mb = new Float64Array(nb);
  const vb = new Float64Array(nb);
  const lr = 0.05;
  return (it: number, W: Float64Array, gW: Float64Array, b: Float64Array, gb: Float64Array) => {
    const c1 = 1 - 0.9 ** it;
    const c2 = 1 - 0.999 ** it;
    for (let j = 0; j < nw; j++) {
      mW[j] = 0.9 * mW[j]! + 0.1 * gW[j]!;
      vW[j] = 0.999 * vW[j]! + 0.001 * gW[j]! ** 2;
      W[j]! -= (lr * mW[j]!) / c1 / (Math.sqrt(vW[j]! / c2) + 1e-8);
    }
    for (let t = 0; t < nb; t++) {
      mb[t] = 0.9 * mb[t]! + 0.1 * gb[t]!;
      vb[t] = 0.999 * vb[t]! + 0.001 * gb[t]! ** 2;
      b[t]! -= (lr * mb[t]!) / c1 / (Math.sqrt(vb[t]! / c2) + 1e-8);
    }
  };
}

/**
 * Temperature and kNN weight minimising the log loss of held-out predictions (grid search):
 * `logits` n x T raw head logits, `votes` the kNN distributions, `labels` task indices (-1 skipped).
 */
export function calibrateTask(
  tasks: string[],
  logits: Float32Array,
  votes: ReadonlyArray<Record<string, number>>,
  labels: Int32Array,
): { temperature: number; knnWeight: number; logLoss: number } {
  const T = tasks.length;
  let best = { temperature: 1, knnWeight: 0, logLoss: Infinity };
  const p = new Float64Array(T);
  for (const temperature of [0.2, 0.3, 0.4, 0.5, 0.7, 0.85, 1, 1.2, 1.5, 2, 2.5, 3, 4]) {
    for (let w = 0; w <= 1.0001; w += 0.1) {
      let loss = 0;
      let n = 0;
      for (let i = 0; i < labels.length; i++) {
        if (labels[i]! < 0) continue;
        softmaxInto(logits.subarray(i * T, (i + 1) * T), temperature, p);
        const v = votes[i] ?? {};
        const hasVote = Object.keys(v).length > 0;
        const q = (hasVote ? 1 - w : 1) * p[labels[i]!]! + (hasVote ? w * (v[tasks[labels[i]!]!] ?? 0) : 0);
        loss -= Math.log(Math.max(q, 1e-6));
        n++;
      }
      if (n && loss / n < best.logLoss) best = { temperature, knnWeight: Number(w.toFixed(1)), logLoss: loss / n };
    }
  }
  return best;
}

/** Raw task logits (before temperature) of the head for n inputs: the first T outputs. */
export async function headLogits(
  head: AnalysisHead,
  backend: ComputeBackend,
  x: Float32Array,
): Promise<{ logits: Float32Array; ease: Float32Array }> {
  const T = head.tasks.length;
  const out = await backend.mlp(oneLayer(head.layer), x);
  const n = out.length / (2 * T);
  const logits = new Float32Array(n * T);
  const ease = new Float32Array(n * T);
  for (let i = 0; i < n; i++) {
    logits.set(out.subarray(i * 2 * T, i * 2 * T + T), i * T);
    for (let t = 0; t < T; t++) ease[i * T + t] = Math.min(0.99, Math.max(0.01, out[i * 2 * T + T + t]!));
  }
  return { logits, ease };
}
