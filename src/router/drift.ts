/**
 * Drift: what rated answers say about a model now, against what the router predicted for them.
 * Per model × task the router keeps a correction c, moved by each rating toward the residual
 * (score − the prediction it made, c included): c ← c + η · (score − prediction). With η = α this
 * is the exponentially weighted mean of (score − the uncorrected prediction), half-life `halfLife`
 * ratings; the first ratings use η = 1 / (n + priorRatings), a mean shrunk toward no correction, so
 * one bad rating moves little. The kNN manifold and the capability rows learn from the same
 * ratings but remember them all equally; this is what makes a model that got worse lose its
 * traffic within its last ~halfLife ratings, and get it back when it recovers.
 */
import { dict } from '../names.js';

export interface DriftOptions {
  /** Ratings after which an old residual weighs half as much as a new one. */
  halfLife: number;
  /** Pseudo-ratings of "no correction" the first ratings are averaged with. */
  priorRatings: number;
}

export class Drift {
  private readonly byModel = new Map<string, Record<string, { c: number; n: number }>>();
  private readonly alpha: number;

  constructor(readonly o: DriftOptions = { halfLife: 50, priorRatings: 20 }) {
    this.alpha = 1 - 2 ** (-1 / o.halfLife);
  }

  /** Takes in a rating of a model's answer for a task, against the quality predicted for it then. */
  observe(model: string, task: string, score: number, predicted: number): void {
    if (!Number.isFinite(score) || !Number.isFinite(predicted)) return;
    const byTask = this.byModel.get(model) ?? dict<{ c: number; n: number }>();
    this.byModel.set(model, byTask);
    const d = (byTask[task] ??= { c: 0, n: 0 });
    d.n++;
    const eta = Math.max(this.alpha, 1 / (d.n + this.o.priorRatings));
    d.c += eta * (score - predicted);
  }

  /** The correction for a model under a task distribution (0 where it has no ratings). */
  correction(model: string, taskDist: Readonly<Record<string, number>>): number {
    const byTask = this.byModel.get(model);
    if (!byTask) return 0;
    let c = 0;
    for (const [t, p] of Object.entries(taskDist)) c += p * (byTask[t]?.c ?? 0);
    return c;
  }

  /** Every correction (for /v1/stats): model → task → {correction, ratings}. */
  snapshot(): Record<string, Record<string, { correction: number; ratings: number }>> {
    const out: Record<string, Record<string, { correction: number; ratings: number }>> = dict();
    for (const [m, byTask] of this.byModel) {
      out[m] = dict();
      for (const [t, d] of Object.entries(byTask)) out[m][t] = { correction: d.c, ratings: d.n };
    }
    return out;
  }

  get size(): number {
    return this.byModel.size;
  }

  clear(): void {
    this.byModel.clear();
  }
}
