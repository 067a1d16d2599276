/**
 * Turns predictions into a ranked, constrained choice. Scores (higher is better):
 *   quality: predicted quality; cost: -cost; latency: -latency;
 *   balanced / custom: wq·quality − wc·cost′ − wl·latency′, where cost′ and latency′ are the
 *   log values rescaled to [0, 1] over the eligible models;
 *   quality target q: the cheapest model predicted to reach q (else the best predicted).
 * The chosen model is the best eligible one with room under its concurrency cap.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import { capabilitiesOf, type ModelSpec, type RoutingSettings, type Strategy } from '../config/index.js';
import type { LoadTracker } from './load.js';
import type { Candidate, Prediction, RouteOptions } from './types.js';

export interface Choice {
  chosen: Candidate;
  ranked: Candidate[];
  strategy: Strategy | 'quality-target';
  note: string;
  confidence: number;
}

/** Standard normal CDF (Abramowitz & Stegun 26.2.17, |error| < 7.5e-8). */
function phi(z: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const d = 0.3989422804014327 * Math.exp((-z * z) / 2);
  const p = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return z > 0 ? 1 - p : p;
}

const NO_CONSTRAINTS: NonNullable<RouteOptions['constraints']> = Object.freeze({});

function excluded(p: Prediction, m: ModelSpec, o: RouteOptions): string | undefined {
  const c = o.constraints ?? NO_CONSTRAINTS;
  if (c.allow && !c.allow.includes(m.id)) return 'not in allow list';
  if (c.deny?.includes(m.id)) return 'in deny list';
  const lacks = c.capabilities?.filter((k) => !capabilitiesOf(m).includes(k));
  if (lacks?.length) return `lacks ${lacks.join(', ')} (capabilities: ${capabilitiesOf(m).join(', ') || 'none'})`;
  const need = c.minContext ?? p.inputTokens + p.outputTokens;
  if (need > m.contextTokens) return `needs ${need} tokens of context, has ${m.contextTokens}`;
  if (c.maxCost !== undefined && p.cost > c.maxCost) return `cost ${p.cost.toPrecision(3)} > max ${c.maxCost}`;
  if (c.maxLatencyMs !== undefined && p.latencyMs > c.maxLatencyMs)
    return `latency ${Math.round(p.latencyMs)} ms > max ${c.maxLatencyMs}`;
  if (c.minQuality !== undefined && p.quality < c.minQuality)
    return `quality ${p.quality.toFixed(3)} < min ${c.minQuality}`;
  return undefined;
}

/**
 * log(value) rescaled to [0, 1] over the given values (all 0 when they are equal): the cost and
 * latency terms of the balanced and custom scores.
 */
export function logSpan(values: readonly number[], offset: number): number[] {
  const v = values.map((x) => Math.log(x + offset));
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  return v.map((x) => (hi > lo ? (x - lo) / (hi - lo) : 0));
}

/**
 * A prediction as a candidate (score set by the caller), its fields spelled out in their written
 * order: built with an object spread, setting the score left it a slow dictionary-mode object.
 */
function candidate(p: Prediction, excluded: string | undefined, saturated: boolean): Candidate {
  const c: Omit<Candidate, 'saturated'> & { saturated?: boolean } = {
    model: p.model,
    quality: p.quality,
    qualityStderr: p.qualityStderr,
    qualitySource: p.qualitySource,
    inputTokens: p.inputTokens,
    outputTokens: p.outputTokens,
    cost: p.cost,
    latencyMs: p.latencyMs,
    score: 0,
    eligible: excluded === undefined,
  };
  if (excluded !== undefined) c.excluded = excluded; // before `saturated`, as it has always been written
  c.saturated = saturated;
  return c as Candidate;
}

/**
 * Eligible first, then by score, highest first; stable (equal candidates keep the models' order).
 * Insertion into a copy: a route has a handful of candidates, and Array.prototype.sort allocated
 * more than the rest of the choice.
 */
function rank(cands: readonly Candidate[]): Candidate[] {
  const before = (a: Candidate, b: Candidate) => Number(b.eligible) - Number(a.eligible) || b.score - a.score;
  const out: Candidate[] = [];
  for (const c of cands) {
    let j = out.length;
    out.push(c);
    while (j > 0 && before(out[j - 1]!, c) > 0) {
      out[j] = out[j - 1]!;
      j--;
    }
    out[j] = c;
  }
  return out;
}

export function choose(
  preds: Prediction[],
  models: readonly ModelSpec[],
  o: RouteOptions,
  routing: RoutingSettings,
  load: LoadTracker,
): Choice {
  const target = o.qualityTarget ?? (o.strategy ? undefined : routing.qualityTarget);
  const strategy: Strategy = o.strategy ?? routing.strategy;
  const w = o.weights ?? routing.weights;
  const cands: Candidate[] = preds.map((p, i) => {
    // predictions come in the models' order; looked up by id otherwise
    const m = models[i]?.id === p.model ? models[i]! : models.find((x) => x.id === p.model)!;
    const why = excluded(p, m, o);
    return candidate(p, why, load.saturated(p.model, m.maxConcurrent));
  });
  if (!cands.some((c) => c.eligible))
    throw new ArbiterError(
      ErrorCodes.NO_ELIGIBLE_MODEL,
      `no model satisfies the constraints: ${cands.map((c) => `${c.model} (${c.excluded})`).join('; ')}`,
      { param: 'constraints' },
    );
  // logSpan over the eligible candidates, by candidate (an excluded one scores as the worst, 1);
  // no intermediate arrays: this runs for every prompt
  const span = (f: (c: Candidate) => number, offset: number): number[] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const c of cands)
      if (c.eligible) {
        const x = Math.log(f(c) + offset);
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    return cands.map((c) => (!c.eligible ? 1 : hi > lo ? (Math.log(f(c) + offset) - lo) / (hi - lo) : 0));
  };
  const costN = span((c) => c.cost, 1e-9);
  const latN = span((c) => c.latencyMs, 1);
  let note = '';
  let used: Strategy | 'quality-target' = strategy;
  if (target !== undefined) {
    used = 'quality-target';
    let reached = 0;
    cands.forEach((c, i) => {
      const reaches = c.eligible && c.quality >= target;
      if (reaches) reached++;
      c.score = reaches ? 10 - costN[i]! : c.quality; // reachers first, cheapest first
    });
    note = reached
      ? `cheapest predicted to reach ${target}`
      : `none predicted to reach ${target}: best predicted instead`;
  } else {
    cands.forEach((c, i) => {
      if (strategy === 'quality') c.score = c.quality - 1e-6 * costN[i]!;
      else if (strategy === 'cost') c.score = -c.cost + 1e-9 * c.quality;
      else if (strategy === 'latency') c.score = -c.latencyMs + 1e-6 * c.quality;
      else c.score = w.quality * c.quality - w.cost * costN[i]! - w.latency * latN[i]!;
    });
  }
  const ranked = rank(cands);
  // the best eligible one with room; all at their caps: the best, queued
  const chosen = ranked.find((c) => c.eligible && !c.saturated) ?? ranked[0]!;
  const addNote = (s: string) => (note = note ? `${note}; ${s}` : s);
  if (chosen !== ranked[0]) addNote(`${ranked[0]!.model} is at its concurrency cap`);
  else if (chosen.saturated) addNote('every eligible model is at its concurrency cap: queued on the best');
  const runner = ranked.find((c) => c.eligible && c !== chosen);
  const confidence = runner
    ? phi((chosen.quality - runner.quality) / Math.hypot(chosen.qualityStderr, runner.qualityStderr, 1e-9))
    : 1;
  return { chosen, ranked, strategy: used, note, confidence };
}
