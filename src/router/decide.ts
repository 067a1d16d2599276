/**
 * One routing decision from its inputs: the prompt's analysis, the kNN vote (if any), the
 * models, the options, the routing settings and the current load. A plain function: the engine
 * gathers the inputs, this turns them into a Decision.
 */
import type { PromptAnalysis } from '../analyze/index.js';
import type { ModelSpec, RoutingSettings } from '../config/index.js';
import { checker, routeOptionsSchema } from '../config/index.js';
import type { LoadTracker } from './load.js';
import { predict, type PredictInputs } from './predict.js';
import { choose } from './strategy.js';
import type { Decision, NeighbourVote, Prediction, RouteOptions } from './types.js';
import { dict, isEmpty } from '../names.js';

const checkOptions = checker<RouteOptions>(routeOptionsSchema, 'options');

/** Validates route options against the one schema of them (config/requests.ts); returns them typed. */
export function checkRouteOptions(o: unknown): RouteOptions {
  return o === undefined ? {} : checkOptions(o);
}

/** Weight of the kNN vote's task distribution against the keyword rules' when both exist. */
const VOTE_TASK_WEIGHT = 0.7;

export interface DecideInputs extends Omit<PredictInputs, 'maxTokens'> {
  /** The task distribution of a trained head (already mixed with the vote); else rules + vote. */
  task?: {
    distribution: Record<string, number>;
    source: 'head' | 'head+manifold' | 'ood';
    /** Reported instead of the top probability (the out-of-distribution test's p-value). */
    confidence?: number;
  };
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
  const labelled = vote !== undefined && !isEmpty(vote.task.distribution);
  let dist: Record<string, number> = dict();
  let source: Decision['task']['source'] = labelled ? 'manifold+keywords' : 'keywords';
  if (inputs.task) {
    dist = inputs.task.distribution;
    source = inputs.task.source;
  } else {
    // (for-in, not entries(): this runs once per routed prompt)
    const scores = analysis.task.scores;
    for (const t in scores) dist[t] = (labelled ? 1 - VOTE_TASK_WEIGHT : 1) * scores[t]!;
    if (labelled) {
      const votes = vote.task.distribution;
      for (const t in votes) dist[t] = (dist[t] ?? 0) + VOTE_TASK_WEIGHT * votes[t]!;
    }
  }
  // the most probable task (the first of equals)
  let label = '';
  let top = -Infinity;
  let first = true;
  for (const t in dist)
    if (first || dist[t]! > top) {
      label = t;
      top = dist[t]!;
      first = false;
    }
  // `general` from keywords that matched nothing is the absence of evidence, not certainty
  const conf =
    inputs.task?.confidence ?? (source === 'keywords' && label === 'general' ? analysis.task.confidence : top);
  const predictions = predict(models, prompt, dist, vote, inputs, options.maxTokens);
  const explore = routing.explore > 0 && Math.random() < routing.explore;
  const c = choose(explore ? thompson(predictions) : predictions, models, options, routing, load);
  if (explore) {
    // chosen on the draw; reported (and later compared with the ratings) at the predictions
    const real = new Map(predictions.map((p) => [p.model, p.quality]));
    for (const x of c.ranked) x.quality = real.get(x.model)!;
  }
  const ch = c.chosen;
  const runner = c.ranked.find((x) => x.eligible && x !== ch);
  const money = (x: number) => `$${x < 0.01 ? x.toPrecision(2) : x.toFixed(3)}`;
  const reason =
    `${c.strategy}: ${ch.model} (quality ${ch.quality.toFixed(2)}±${ch.qualityStderr.toFixed(2)} from ${ch.qualitySource}, ${money(ch.cost)}, ${(ch.latencyMs / 1000).toFixed(1)} s)` +
    ` for a ${label} prompt (${conf.toFixed(2)})` +
    (runner ? `; runner-up ${runner.model} (${runner.quality.toFixed(2)}, ${money(runner.cost)})` : '') +
    (source === 'ood' ? '; unlike the prompts the router was trained on: predicted from the priors' : '') +
    (c.note ? `; ${c.note}` : '') +
    (explore ? '; exploring (chosen on a draw from the predictions)' : '') +
    (options.constraints?.capabilities?.length
      ? `; the request needs ${options.constraints.capabilities.join(', ')}`
      : '');
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

/** A standard normal draw (Box–Muller). */
function gauss(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

/** Each model's quality drawn from its prediction ± stderr (clipped to [0, 1]): copies, for choosing only. */
function thompson(predictions: readonly Prediction[]): Prediction[] {
  return predictions.map((p) => ({ ...p, quality: Math.min(1, Math.max(0, p.quality + p.qualityStderr * gauss())) }));
}
