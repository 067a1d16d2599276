/**
 * Thompson sampling on Bernoulli arms with a cost-aware reward, and a stopping rule.
 *
 * Each arm's quality has a Beta(1 + successes, 1 + failures) posterior (ratings in [0, 1] count
 * fractionally); a request goes to the arm whose posterior draw of quality − λ·cost is highest
 * (Thompson 1933; Russo et al., "A Tutorial on Thompson Sampling", 2018), except that every arm
 * keeps at least `minShare` of the traffic. The best arm is identified when the posterior
 * probability that it is best — estimated from `draws` joint posterior samples — reaches 1 − δ.
 * Beta draws from two Gamma draws (Marsaglia & Tsang, "A Simple Method for Generating Gamma
 * Variables", 2000).
 */

export interface BanditArm {
  /** Rated outcomes (successes may be fractional: the sum of scores in [0, 1]). */
  successes: number;
  failures: number;
  /** Mean cost per request, subtracted from quality at λ. */
  cost?: number;
}

function normal(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** A Gamma(shape, 1) draw (Marsaglia–Tsang; shape < 1 boosted by U^(1/shape)). */
export function gamma(shape: number, rnd: () => number): number {
  if (shape < 1) return gamma(shape + 1, rnd) * rnd() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rnd);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rnd();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A Beta(a, b) draw. */
export function beta(a: number, b: number, rnd: () => number): number {
  const x = gamma(a, rnd);
  return x / (x + gamma(b, rnd));
}

const draw = (a: BanditArm, lambda: number, rnd: () => number) =>
  beta(1 + a.successes, 1 + a.failures, rnd) - lambda * (a.cost ?? 0);

/** The arm for the next request: a Thompson draw, with each arm kept at ≥ minShare of the traffic. */
export function thompsonArm(arms: readonly BanditArm[], lambda: number, minShare: number, rnd: () => number): number {
  if (rnd() < minShare * arms.length) return Math.floor(rnd() * arms.length); // the exploration floor
  return bestDraw(arms, lambda, rnd);
}

/** One joint draw from the arms' posteriors: the arm whose draw is highest. */
function bestDraw(arms: readonly BanditArm[], lambda: number, rnd: () => number): number {
  let best = 0;
  let top = -Infinity;
  arms.forEach((a, i) => {
    const v = draw(a, lambda, rnd);
    if (v > top) {
      top = v;
      best = i;
    }
  });
  return best;
}

/** Each arm's posterior probability of being the best (highest quality − λ·cost), from joint draws. */
export function probabilityBest(arms: readonly BanditArm[], lambda: number, rnd: () => number, draws = 2000): number[] {
  const wins = new Array<number>(arms.length).fill(0);
  for (let s = 0; s < draws; s++) {
    wins[bestDraw(arms, lambda, rnd)]!++;
  }
  return wins.map((w) => w / draws);
}

/** The identified best arm (posterior probability ≥ 1 − δ), or undefined. */
export function identifiedBest(
  arms: readonly BanditArm[],
  lambda: number,
  delta: number,
  rnd: () => number,
  draws = 2000,
): number | undefined {
  const p = probabilityBest(arms, lambda, rnd, draws);
  const i = p.indexOf(Math.max(...p));
  return p[i]! >= 1 - delta ? i : undefined;
}
