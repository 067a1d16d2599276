/**
 * Comparing arms: tests that stay valid when read at any time, fixed-horizon tests, multiple-arm
 * corrections and the sample-ratio check — one module for experiments and comparisons.
 *
 * - Always valid: the mixture sequential probability ratio test (mSPRT) with a normal mixture
 *   over the difference of means, on its normal approximation (Johari, Koomen, Pekelis & Walsh,
 *   "Always Valid Inference: Continuous Monitoring of A/B Tests", Operations Research 70(3), 2022,
 *   section 4): with θ̂ = mean_B − mean_A and V = s²_A/n_A + s²_B/n_B,
 *     Λ = sqrt(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²))),
 *   rejecting θ = 0 when Λ ≥ 1/α; the always-valid p-value is the running minimum of 1/Λ, and the
 *   confidence sequence is θ̂ ± sqrt(V (V + τ²)/τ² · (log((V + τ²)/V) + 2 log(1/α))). τ is the
 *   mixture's scale: about the smallest difference worth detecting.
 * - Fixed horizon: the two-proportion z-test (unpooled) and Welch's t-test, with intervals.
 * - Several arms: Holm's step-down adjustment (Holm 1979).
 * - Sample-ratio mismatch: Pearson's χ² goodness of fit of the arms' counts to their weights.
 * Distribution functions from stdlib (@stdlib/stats-base-dists-*).
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';

/** An arm's observations so far: count, mean and sample variance (Welford, or from sums). */
export interface ArmSummary {
  n: number;
  mean: number;
  /** Sample variance (n − 1 in the denominator). */
  variance: number;
}

/** Running sums of an arm's outcomes (Welford): add one at a time, read a summary any time. */
export class Arm implements ArmSummary {
  n = 0;
  mean = 0;
  private m2 = 0;

  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }

  get variance(): number {
    return this.n > 1 ? this.m2 / (this.n - 1) : 0;
  }
}

const varianceOfDifference = (a: ArmSummary, b: ArmSummary) => a.variance / a.n + b.variance / b.n;

export interface Estimate {
  /** mean_B − mean_A */
  difference: number;
  low: number;
  high: number;
  p: number;
}

/** The mixture likelihood ratio Λ of the mSPRT for B − A (Johari et al. 2022), τ the mixture scale. */
export function mixtureLikelihoodRatio(a: ArmSummary, b: ArmSummary, tau: number): number {
  const v = varianceOfDifference(a, b);
  if (!(v > 0) || a.n < 2 || b.n < 2) return 1;
  const d = b.mean - a.mean;
  const t2 = tau * tau;
  return Math.sqrt(v / (v + t2)) * Math.exp((t2 * d * d) / (2 * v * (v + t2)));
}

/** The always-valid confidence sequence for B − A at level 1 − α (the mSPRT inverted). */
export function confidenceSequence(
  a: ArmSummary,
  b: ArmSummary,
  tau: number,
  alpha: number,
): { low: number; high: number } {
  const v = varianceOfDifference(a, b);
  const d = b.mean - a.mean;
  if (!(v > 0)) return { low: -Infinity, high: Infinity };
  const t2 = tau * tau;
  const half = Math.sqrt(((v * (v + t2)) / t2) * (Math.log((v + t2) / v) + 2 * Math.log(1 / alpha)));
  return { low: d - half, high: d + half };
}

/**
 * A two-arm comparison read at any time: each look updates the always-valid p-value (the running
 * minimum of 1/Λ) — peeking after every unit keeps the false-positive rate at α.
 */
export class SequentialTest {
  private minP = 1;

  constructor(
    /** The mixture's scale: about the smallest difference worth detecting. */
    readonly tau: number,
    readonly alpha = 0.05,
  ) {}

  /** Looks at the arms now; returns the always-valid estimate and whether B − A ≠ 0 is decided. */
  look(a: ArmSummary, b: ArmSummary): Estimate & { decided: boolean } {
    this.minP = Math.min(this.minP, 1 / mixtureLikelihoodRatio(a, b, this.tau));
    const cs = confidenceSequence(a, b, this.tau, this.alpha);
    return { difference: b.mean - a.mean, ...cs, p: this.minP, decided: this.minP <= this.alpha };
  }
}

/** Fixed-horizon two-proportion z-test (unpooled standard error) and its 1 − α interval, for B − A. */
export function twoProportionZ(a: ArmSummary, b: ArmSummary, alpha = 0.05): Estimate {
  const d = b.mean - a.mean;
  const se = Math.sqrt((a.mean * (1 - a.mean)) / a.n + (b.mean * (1 - b.mean)) / b.n);
  if (!(se > 0)) return { difference: d, low: d, high: d, p: d === 0 ? 1 : 0 };
  const z = normalQuantile(1 - alpha / 2, 0, 1);
  return { difference: d, low: d - z * se, high: d + z * se, p: 2 * (1 - normalCdf(Math.abs(d) / se, 0, 1)) };
}

/** Fixed-horizon Welch t-test (unequal variances, Welch–Satterthwaite degrees of freedom) for B − A. */
export function welchT(a: ArmSummary, b: ArmSummary, alpha = 0.05): Estimate & { df: number } {
  const d = b.mean - a.mean;
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(va + vb);
  if (!(se > 0) || a.n < 2 || b.n < 2) return { difference: d, low: -Infinity, high: Infinity, p: 1, df: 0 };
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  // the t quantile by bisection on the CDF (stdlib's t quantile is another package; this runs once per report)
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < 1 - alpha / 2) lo = mid;
    else hi = mid;
  }
  const q = (lo + hi) / 2;
  return { difference: d, low: d - q * se, high: d + q * se, p: 2 * (1 - tCdf(Math.abs(d) / se, df)), df };
}

/** Holm's step-down adjusted p-values (same order as given): controls the family-wise error rate. */
export function holm(pValues: readonly number[]): number[] {
  const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(pValues.length);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (pValues.length - rank) * p));
    out[i] = running;
  });
  return out;
}

/** Sample-ratio mismatch: Pearson's χ² of the arms' counts against their weights; alarm when p < threshold. */
export function sampleRatioMismatch(
  counts: readonly number[],
  weights: readonly number[],
  threshold = 0.001,
): { chi2: number; p: number; mismatch: boolean } {
  const n = counts.reduce((s, c) => s + c, 0);
  const w = weights.reduce((s, x) => s + x, 0);
  if (n === 0 || counts.length < 2) return { chi2: 0, p: 1, mismatch: false };
  let chi2 = 0;
  counts.forEach((c, i) => {
    const expected = (n * weights[i]!) / w;
    chi2 += (c - expected) ** 2 / expected;
  });
  const p = 1 - chisquareCdf(chi2, counts.length - 1);
  return { chi2, p, mismatch: p < threshold };
}

/** Units per arm for a fixed-horizon two-proportion test to detect p1 → p2 with the given power (two-sided α). */
export function fixedHorizonSize(p1: number, p2: number, alpha = 0.05, power = 0.8): number {
  const z = normalQuantile(1 - alpha / 2, 0, 1) + normalQuantile(power, 0, 1);
  return Math.ceil((z * z * (p1 * (1 - p1) + p2 * (1 - p2))) / (p2 - p1) ** 2);
}

/**
 * The 0-based ranks (ascending) of the q-quantile of n observations and of its distribution-free
 * 1 − α interval: the order statistics whose ranks are the binomial(n, q) count's normal-approximate
 * bounds, nq ± z√(nq(1 − q)) (Conover, "Practical Nonparametric Statistics", 3rd ed., §3.2).
 */
export function quantileRanks(n: number, q: number, alpha = 0.05): { point: number; low: number; high: number } {
  const z = normalQuantile(1 - alpha / 2, 0, 1);
  const half = z * Math.sqrt(n * q * (1 - q));
  const clamp = (r: number) => Math.min(n - 1, Math.max(0, r));
  return {
    point: clamp(Math.ceil(n * q) - 1),
    low: clamp(Math.floor(n * q - half) - 1),
    high: clamp(Math.ceil(n * q + half) - 1),
  };
}

/** The two-sided p-value of a standard normal statistic. */
export const twoSidedP = (z: number): number => 2 * (1 - normalCdf(Math.abs(z), 0, 1));
