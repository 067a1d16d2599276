/**
 * One routing decision from its inputs: the prompt's analysis, the kNN vote (if any), the
 * models, the options, the routing settings and the current load. A plain function: the engine
 * gathers the inputs, this turns them into a Decision.
 */
import type { PromptAnalysis } from '../analyze/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { STRATEGIES, type ModelSpec, type RoutingSettings } from '../models/index.js';
import type { LoadTracker } from './load.js';
import { predict, type PredictInputs } from './predict.js';
import { choose } from './strategy.js';
import type { Decision, NeighbourVote, RouteOptions } from './types.js';

const bad = (param: string, msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${param} ${msg}`, { param });
};

/** Validates route options; returns them typed. */
export function checkRouteOptions(o: unknown): RouteOptions {
  if (o === undefined) return {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) bad('options', 'must be an object');
  const r = o as RouteOptions;
  if (r.strategy !== undefined && !(STRATEGIES as readonly string[]).includes(r.strategy)) bad('options.strategy', `must be one of ${STRATEGIES.join(', ')}`);
  if (r.qualityTarget !== undefined && !(typeof r.qualityTarget === 'number' && r.qualityTarget >= 0 && r.qualityTarget <= 1)) bad('options.qualityTarget', 'must be a number in [0, 1]');
  if (r.maxTokens !== undefined && !(Number.isInteger(r.maxTokens) && r.maxTokens > 0)) bad('options.maxTokens', 'must be a positive integer');
  if (r.weights !== undefined) {
    const w = r.weights as unknown as Record<string, unknown>;
    if (typeof w !== 'object' || w === null || !['quality', 'cost', 'latency'].every((k) => typeof w[k] === 'number' && (w[k] as number) >= 0))
      bad('options.weights', 'must be {quality, cost, latency} with numbers >= 0');
  }
  const c = r.constraints;
  if (c !== undefined) {
    if (typeof c !== 'object' || c === null) bad('options.constraints', 'must be an object');
    for (const k of ['maxCost', 'maxLatencyMs', 'minQuality', 'minContext'] as const)
      if (c[k] !== undefined && !(typeof c[k] === 'number' && c[k]! >= 0)) bad(`options.constraints.${k}`, 'must be a number >= 0');
    for (const k of ['allow', 'deny'] as const)
      if (c[k] !== undefined && !(Array.isArray(c[k]) && c[k]!.every((x) => typeof x === 'string'))) bad(`options.constraints.${k}`, 'must be an array of model ids');
  }
  return r;
}

/** Weight of the kNN vote's task distribution against the keyword rules' when both exist. */
const VOTE_TASK_WEIGHT = 0.7;

export interface DecideInputs extends Omit<PredictInputs, 'maxTokens'> {
  /** The task distribution of a trained head (already mixed with the vote); else rules + vote. */
  task?: { distribution: Record<string, number>; source: 'head' | 'head+manifold' };
}

export function decide(
  prompt: string,
  analysis: PromptAnalysis,
  vote: NeighbourVote | undefined,
  models: readonly ModelSpec[],
  options: RouteOptions,
  routing: RoutingSettings,
  load: LoadTracker,
  inputs: DecideInputs = {},
): Decision {
  const labelled = vote !== undefined && Object.keys(vote.task.distribution).length > 0;
  let dist: Record<string, number> = {};
  let source: Decision['task']['source'] = labelled ? 'manifold+keywords' : 'keywords';
  if (inputs.task) {
    dist = inputs.task.distribution;
    source = inputs.task.source;
  } else {
    for (const [t, p] of Object.entries(analysis.task.scores)) dist[t] = (labelled ? 1 - VOTE_TASK_WEIGHT : 1) * p;
    if (labelled) for (const [t, p] of Object.entries(vote.task.distribution)) dist[t] = (dist[t] ?? 0) + VOTE_TASK_WEIGHT * p;
  }
  const [label, conf] = Object.entries(dist).sort((x, y) => y[1] - x[1])[0]!;
  const c = choose(predict(models, prompt, dist, vote, { ...inputs, maxTokens: options.maxTokens }), models, options, routing, load);
  const ch = c.chosen;
  const runner = c.ranked.find((x) => x.eligible && x !== ch);
  const money = (x: number) => `$${x < 0.01 ? x.toPrecision(2) : x.toFixed(3)}`;
  const reason =
    `${c.strategy}: ${ch.model} (quality ${ch.quality.toFixed(2)}±${ch.qualityStderr.toFixed(2)} from ${ch.qualitySource}, ${money(ch.cost)}, ${(ch.latencyMs / 1000).toFixed(1)} s)` +
    ` for a ${label} prompt (${conf.toFixed(2)})` +
    (runner ? `; runner-up ${runner.model} (${runner.quality.toFixed(2)}, ${money(runner.cost)})` : '') +
    (c.note ? `; ${c.note}` : '');
  return {
    model: ch.model,
    strategy: c.strategy,
    predicted: { quality: ch.quality, qualityStderr: ch.qualityStderr, cost: ch.cost, latencyMs: ch.latencyMs },
    confidence: c.confidence,
    alternatives: c.ranked,
    fallbacks: c.ranked.filter((x) => x.eligible && x !== ch).map((x) => x.model),
    task: { label, confidence: conf, distribution: dist, source },
    analysis,
    reason,
  };
}
