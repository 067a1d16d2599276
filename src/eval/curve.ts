/**
 * Metrics of cost–quality curves, as the routing literature defines them:
 *   - the non-decreasing convex hull of a router's (cost, quality) points, and AIQ, the average
 *     quality under that hull over a cost range (RouterBench);
 *   - for a strong/weak pair: PGR = (q − q_weak) / (q_strong − q_weak) against the share of calls to
 *     the strong model, APGR its area, CPT(x) the least strong-call share reaching PGR x (RouteLLM);
 *   - the cost saving at a quality target, and paired bootstrap intervals.
 */

export interface CurvePoint {
  /** The router setting (cost weight, quality target, …). */
  param: number | string;
  quality: number;
  cost: number;
  /** Share of calls to the strong model (two-model sets). */
  strongShare?: number;
}

/**
 * The upper-left boundary of the points' convex hull, made non-decreasing: from the cheapest
 * point, each next vertex is the one with the steepest quality gain per cost. Sorted by cost.
 */
export function convexHull(points: readonly CurvePoint[]): CurvePoint[] {
  const pts = [...points].sort((a, b) => a.cost - b.cost || b.quality - a.quality);
  // best quality at or below each cost: dominated points drop out
  const frontier: CurvePoint[] = [];
  for (const p of pts) if (!frontier.length || p.quality > frontier.at(-1)!.quality) frontier.push(p);
  const hull: CurvePoint[] = [];
  for (const p of frontier) {
    while (hull.length >= 2) {
      const [a, b] = [hull.at(-2)!, hull.at(-1)!];
      // drop b when it lies on or below the segment a -> p
      if ((b.quality - a.quality) * (p.cost - a.cost) <= (p.quality - a.quality) * (b.cost - a.cost)) hull.pop();
      else break;
    }
    hull.push(p);
  }
  return hull;
}

/** Quality of the hull at a cost (linear between vertices; flat past the last, undefined before the first). */
export function hullQualityAt(hull: readonly CurvePoint[], cost: number): number | undefined {
  if (!hull.length || cost < hull[0]!.cost) return undefined;
  for (let i = 1; i < hull.length; i++) {
    const [a, b] = [hull[i - 1]!, hull[i]!];
    if (cost <= b.cost)
      return b.cost === a.cost
        ? b.quality
        : a.quality + ((b.quality - a.quality) * (cost - a.cost)) / (b.cost - a.cost);
  }
  return hull.at(-1)!.quality;
}

/**
 * AIQ: the mean of the hull's quality over [lo, hi] (RouterBench's area-based score), integrated
 * on a fine grid; below the hull's cheapest point the quality counts as 0.
 */
export function aiq(hull: readonly CurvePoint[], lo: number, hi: number, steps = 1000): number {
  if (!(hi > lo)) return hullQualityAt(hull, hi) ?? 0;
  let s = 0;
  for (let i = 0; i <= steps; i++)
    s += (hullQualityAt(hull, lo + ((hi - lo) * i) / steps) ?? 0) * (i === 0 || i === steps ? 0.5 : 1);
  return s / steps;
}

/** The cheapest point whose quality reaches `target`, or undefined. */
export function cheapestReaching(points: readonly CurvePoint[], target: number): CurvePoint | undefined {
  return points.filter((p) => p.quality >= target).sort((a, b) => a.cost - b.cost)[0];
}

/** PGR of a quality between a weak and a strong model's. */
export const pgr = (q: number, weak: number, strong: number) => (strong === weak ? NaN : (q - weak) / (strong - weak));

/**
 * APGR: the area under PGR as a function of the strong-call share, over [0, 1], through the
 * points' upper envelope (with (0, PGR 0) and (1, PGR 1) as the all-weak and all-strong ends).
 * CPT(x): the least strong-call share at which the envelope reaches PGR x.
 */
export function pgrCurve(
  points: readonly CurvePoint[],
  weak: number,
  strong: number,
): { apgr: number; cpt: (x: number) => number | undefined; envelope: Array<{ share: number; pgr: number }> } {
  const pts = points
    .filter((p) => p.strongShare !== undefined)
    .map((p) => ({ share: p.strongShare!, pgr: pgr(p.quality, weak, strong) }))
    .concat([
      { share: 0, pgr: 0 },
      { share: 1, pgr: 1 },
    ])
    .sort((a, b) => a.share - b.share || b.pgr - a.pgr);
  const envelope: Array<{ share: number; pgr: number }> = [];
  for (const p of pts) if (!envelope.length || p.pgr > envelope.at(-1)!.pgr) envelope.push(p);
  // area: step-wise linear interpolation between envelope points
  let apgr = 0;
  for (let i = 1; i < envelope.length; i++)
    apgr += ((envelope[i]!.pgr + envelope[i - 1]!.pgr) / 2) * (envelope[i]!.share - envelope[i - 1]!.share);
  apgr += envelope.at(-1)!.pgr * (1 - envelope.at(-1)!.share);
  const cpt = (x: number) => envelope.find((e) => e.pgr >= x)?.share;
  return { apgr, cpt, envelope };
}
