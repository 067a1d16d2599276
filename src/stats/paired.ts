/**
 * Comparing models on the same prompts: intervals for win rates, paired tests, and a ranking from
 * pairwise outcomes — the comparison bench's statistics.
 *
 * - Wilson score interval for a proportion (Wilson 1927; Agresti & Coull, "Approximate is better
 *   than 'exact'", The American Statistician 52(2), 1998).
 * - Exact McNemar test = a two-sided sign test on the discordant pairs: under the null each of the
 *   b + c discordant prompts favours either model with probability ½, so p = min(1, 2·P(X ≤ min(b, c)))
 *   for X ~ Binomial(b + c, ½) (McNemar 1947; the exact form, Fagerland, Lydersen & Laake, BMC
 *   Medical Research Methodology 13:91, 2013).
 * - Wilcoxon signed-rank test for graded scores, zero differences dropped, mid-ranks for ties, the
 *   normal approximation with the tie-corrected variance n(n+1)(2n+1)/24 − Σ(t³ − t)/48 and a
 *   continuity correction (Wilcoxon 1945; Hollander, Wolfe & Chicken, "Nonparametric Statistical
 *   Methods", 3rd ed., §3.1).
 * - Bradley–Terry strengths by Hunter's MM algorithm (Hunter, "MM algorithms for generalized
 *   Bradley–Terry models", Annals of Statistics 32(1), 2004): p_i ← W_i / Σ_j n_ij/(p_i + p_j),
 *   normalised to geometric mean 1; ties count half a win each way.
 */
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

/** The Wilson score interval of k successes in n at level 1 − α. */
export function wilson(k: number, n: number, alpha = 0.05): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const z = normalQuantile(1 - alpha / 2, 0, 1);
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** The exact McNemar (sign) test on b prompts where only A was right and c where only B was. */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  return Math.min(1, 2 * binomialCdf(Math.min(b, c), n, 0.5));
}

/** The Wilcoxon signed-rank test of paired differences (two-sided p; the statistic W+ and n used). */
export function wilcoxonSignedRank(diffs: readonly number[]): { p: number; wPlus: number; n: number } {
  const d = diffs.filter((x) => x !== 0 && Number.isFinite(x));
  const n = d.length;
  if (n === 0) return { p: 1, wPlus: 0, n: 0 };
  const order = d.map((x, i) => [Math.abs(x), i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(n);
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && order[j + 1]![0] === order[i]![0]) j++;
    const mid = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = mid;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const wPlus = d.reduce((s, x, i) => s + (x > 0 ? ranks[i]! : 0), 0);
  const mean = (n * (n + 1)) / 4;
  const sd = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48);
  if (!(sd > 0)) return { p: 1, wPlus, n };
  const z = Math.max(0, Math.abs(wPlus - mean) - 0.5) / sd;
  return { p: Math.min(1, 2 * (1 - normalCdf(z, 0, 1))), wPlus, n };
}

/**
 * Bradley–Terry strengths from a matrix of wins (wins[i][j]: how often i beat j, ties already
 * split half and half). Returns log-strengths centred on 0 (a difference of d: i beats j with
 * probability 1/(1 + e^−d)). Models with no comparisons keep 0.
 */
export function bradleyTerry(wins: readonly (readonly number[])[], iterations = 500, tol = 1e-10): number[] {
  const m = wins.length;
  let p = new Array<number>(m).fill(1);
  const total = (i: number) => wins[i]!.reduce((s, w) => s + w, 0);
  for (let it = 0; it < iterations; it++) {
    const next = p.map((pi, i) => {
      const w = total(i);
      let denom = 0;
      for (let j = 0; j < m; j++) {
        if (j === i) continue;
        const nij = wins[i]![j]! + wins[j]![i]!;
        if (nij > 0) denom += nij / (pi + p[j]!);
      }
      // a model that never wins drifts to 0; a floor keeps the logarithm finite
      return denom > 0 ? Math.max(w / denom, 1e-9) : pi;
    });
    const g = Math.exp(next.reduce((s, x) => s + Math.log(x), 0) / m);
    const scaled = next.map((x) => x / g);
    const change = scaled.reduce((s, x, i) => Math.max(s, Math.abs(x - p[i]!)), 0);
    p = scaled;
    if (change < tol) break;
  }
  return p.map((x) => Math.log(x));
}
