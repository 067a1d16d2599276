/**
 * Learned per-model quality: for model m on a prompt of task t,
 *     logit q = a + b · logit(ease_t) + c · logit(q_knn)
 * where ease_t is the analysis head's predicted pool success (how easy the prompt is for the
 * training models as a group) and q_knn the model's kNN vote shrunk toward its prior. (a, b, c)
 * is the model's capability vector for the task: its level, how steeply it falls off on harder
 * prompts (an item-response model with a learned item difficulty), and how much its own
 * neighbours add. Fitted by L2-regularised logistic regression on held-out predictions.
 */
import { logit, sigmoid } from '../math.js';

export type Capability = [a: number, b: number, c: number];
/** Per model id, per task label. */
export type QualityCalibration = Record<string, Record<string, Capability>>;

/**
 * Logistic regression of y (in [0, 1]; soft labels allowed) on [1, x1, x2] by Newton's method,
 * with an L2 penalty pulling the slopes toward `prior` (default 0, 0). Returns [a, b, c].
 */
export function fitCapability(
  x1: ArrayLike<number>,
  x2: ArrayLike<number>,
  y: ArrayLike<number>,
  l2 = 1,
  prior: [number, number] = [0, 0],
): Capability {
  const n = y.length;
  let w: number[] = [0, prior[0], prior[1]];
  if (n === 0) return [0, prior[0], prior[1]];
  const ybar = Array.from(y).reduce((s, v) => s + v, 0) / n;
  w[0] = logit(ybar);
  for (let it = 0; it < 25; it++) {
    const g = [0, l2 * (w[1]! - prior[0]), l2 * (w[2]! - prior[1])];
    const H = [
      [1e-6, 0, 0],
      [0, l2, 0],
      [0, 0, l2],
    ];
    for (let i = 0; i < n; i++) {
      const f = [1, x1[i]!, x2[i]!];
      const p = sigmoid(w[0]! + w[1]! * f[1]! + w[2]! * f[2]!);
      const r = p - y[i]!;
      const s = p * (1 - p);
      for (let a = 0; a < 3; a++) {
        g[a]! += r * f[a]!;
        for (let b = 0; b < 3; b++) H[a]![b]! += s * f[a]! * f[b]!;
      }
    }
    const step = solve3(H, g);
    w = w.map((v, i) => v - step[i]!);
    if (Math.max(...step.map(Math.abs)) < 1e-7) break;
  }
  return [w[0]!, w[1]!, w[2]!];
}

function solve3(A: number[][], b: number[]): number[] {
  // Gaussian elimination with partial pivoting on a 3x3 system
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    const d = M[c]![c]! || 1e-12;
    for (let r = c + 1; r < 3; r++) {
      const f = M[r]![c]! / d;
      for (let k = c; k < 4; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const x = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    let s = M[r]![3]!;
    for (let k = r + 1; k < 3; k++) s -= M[r]![k]! * x[k]!;
    x[r] = s / (M[r]![r]! || 1e-12);
  }
  return x;
}

/**
 * The calibrated quality of one model under a task distribution, or undefined when the model has
 * no capability for any task in it. Tasks without a capability keep the kNN/prior quality.
 */
export function calibratedQuality(
  caps: Record<string, Capability> | undefined,
  taskDist: Record<string, number>,
  ease: Record<string, number> | undefined,
  knnQuality: number,
): number | undefined {
  if (!caps || !ease) return undefined;
  let q = 0;
  let total = 0;
  let covered = 0;
  for (const t in taskDist) {
    const p = taskDist[t]!;
    total += p;
    const cap = caps[t];
    const e = ease[t];
    if (!cap || e === undefined) {
      q += p * knnQuality;
      continue;
    }
    covered += p;
    q += p * sigmoid(cap[0] + cap[1] * logit(e) + cap[2] * logit(knnQuality));
  }
  return covered > 0 && total > 0 ? q / total : undefined;
}
