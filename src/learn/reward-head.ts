/** Fitting the learned reward's logistic head (reward/head.ts scores with it). */
import { REWARD_FEATURES, type RewardHead } from '../reward/index.js';

/** Logistic regression by Adam on standardised features; the standardisation folded into the layer. */
export function fitRewardHead(
  x: Float32Array,
  y: ArrayLike<number>,
  options: { l2?: number; iterations?: number } = {},
): RewardHead {
  const F = REWARD_FEATURES.length;
  const n = y.length;
  const mu = new Float64Array(F);
  const sd = new Float64Array(F);
  for (let i = 0; i < n; i++) for (let j = 0; j < F; j++) mu[j]! += x[i * F + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < F; j++) sd[j]! += (x[i * F + j]! - mu[j]!) ** 2 / n;
  for (let j = 0; j < F; j++) sd[j] = Math.max(Math.sqrt(sd[j]!), 1e-3);
  const w = new Float64Array(F);
  let b = 0;
  const m = new Float64Array(F + 1);
  const v = new Float64Array(F + 1);
  const l2 = options.l2 ?? 1e-3;
  const g = new Float64Array(F + 1);
  for (let it = 1; it <= (options.iterations ?? 400); it++) {
    g.fill(0);
    for (let i = 0; i < n; i++) {
      let s = b;
      for (let j = 0; j < F; j++) s += (w[j]! * (x[i * F + j]! - mu[j]!)) / sd[j]!;
      const e = (1 / (1 + Math.exp(-s)) - y[i]!) / n;
      for (let j = 0; j < F; j++) g[j]! += (e * (x[i * F + j]! - mu[j]!)) / sd[j]!;
      g[F]! += e;
    }
    for (let j = 0; j < F; j++) g[j]! += l2 * w[j]!;
    for (let j = 0; j <= F; j++) {
      m[j] = 0.9 * m[j]! + 0.1 * g[j]!;
      v[j] = 0.999 * v[j]! + 0.001 * g[j]! ** 2;
      const step = (0.05 * (m[j]! / (1 - 0.9 ** it))) / (Math.sqrt(v[j]! / (1 - 0.999 ** it)) + 1e-8);
      if (j < F) w[j]! -= step;
      else b -= step;
    }
  }
  const weight = new Float32Array(F);
  let bias = b;
  for (let j = 0; j < F; j++) {
    weight[j] = w[j]! / sd[j]!;
    bias -= (w[j]! * mu[j]!) / sd[j]!;
  }
  return {
    features: [...REWARD_FEATURES],
    layer: { in: F, out: 1, weight, bias: Float32Array.of(bias), activation: 'sigmoid' },
  };
}
