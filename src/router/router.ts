/**
 * The router: analyse → embed the question → vote on the manifold → predict per model → choose.
 * One prompt with route(), many with routeBatch() (one embedding call and one kNN search for the
 * batch), and learning from outcomes with feedback().
 */
import { analyze } from '../analyze/index.js';
import { selectBackend, type ComputeBackend } from '../compute/index.js';
import { StaticEmbedder } from '../embed/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { Manifold, type Vote } from '../manifold/index.js';
import { loadConfig, ModelRegistry, STRATEGIES, validateConfig, type ArbiterConfig } from '../models/index.js';
import { defaultModelDir } from '../paths.js';
import { LoadTracker } from './load.js';
import { predict } from './predict.js';
import { choose } from './strategy.js';
import type { Decision, RouteOptions } from './types.js';

export interface RouterParts {
  backend?: ComputeBackend;
  embedder?: StaticEmbedder;
  /** Reference outcomes; an empty one is created when absent (routing then uses the priors). */
  manifold?: Manifold;
  /** kNN neighbours per vote. */
  k?: number;
}

const bad = (param: string, msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${param} ${msg}`, { param });
};

function checkOptions(o: unknown): RouteOptions {
  if (o === undefined) return {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) bad('options', 'must be an object');
  const r = o as RouteOptions;
  if (r.strategy !== undefined && !(STRATEGIES as readonly string[]).includes(r.strategy)) bad('options.strategy', `must be one of ${STRATEGIES.join(', ')}`);
  if (r.qualityTarget !== undefined && !(typeof r.qualityTarget === 'number' && r.qualityTarget >= 0 && r.qualityTarget <= 1)) bad('options.qualityTarget', 'must be a number in [0, 1]');
  if (r.maxTokens !== undefined && !(Number.isInteger(r.maxTokens) && r.maxTokens > 0)) bad('options.maxTokens', 'must be a positive integer');
  if (r.weights !== undefined) {
    const w = r.weights;
    if (typeof w !== 'object' || w === null || !['quality', 'cost', 'latency'].every((k) => typeof (w as Record<string, unknown>)[k] === 'number' && (w as Record<string, number>)[k]! >= 0))
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

export class Router {
  readonly load = new LoadTracker();

  constructor(
    readonly registry: ModelRegistry,
    readonly embedder: StaticEmbedder,
    readonly manifold: Manifold,
    private readonly k = 16,
  ) {
    for (const id of registry.ids()) manifold.addModel(id);
  }

  async route(prompt: string, options?: RouteOptions): Promise<Decision> {
    const [d] = await this.routeBatch([prompt], options);
    return d!;
  }

  async routeBatch(prompts: readonly string[], options?: RouteOptions): Promise<Decision[]> {
    if (!Array.isArray(prompts) || prompts.some((p) => typeof p !== 'string')) bad('prompts', 'must be an array of strings');
    const o = checkOptions(options);
    for (const id of [...(o.constraints?.allow ?? []), ...(o.constraints?.deny ?? [])]) this.registry.get(id); // unknown ids: ARB_NOT_FOUND
    if (prompts.length === 0) return [];
    const analyses = prompts.map((p) => analyze(p));
    const emb = await this.embedder.embed(analyses.map((a) => a.fewShot.question));
    const votes: Array<Vote | undefined> = this.manifold.size > 0 ? await this.manifold.vote(emb, this.k) : [];
    const models = this.registry.list();
    return analyses.map((a, i) => {
      const vote = votes[i];
      const labelled = vote && Object.keys(vote.task.distribution).length > 0;
      const dist: Record<string, number> = {};
      for (const [t, p] of Object.entries(a.task.scores)) dist[t] = (labelled ? 0.3 : 1) * p;
      if (labelled) for (const [t, p] of Object.entries(vote.task.distribution)) dist[t] = (dist[t] ?? 0) + 0.7 * p;
      const [label, conf] = Object.entries(dist).sort((x, y) => y[1] - x[1])[0]!;
      const preds = predict(models, prompts[i]!, dist, vote, o.maxTokens);
      const c = choose(preds, models, o, this.registry.routing, this.load);
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
        task: { label, confidence: conf, distribution: dist, source: labelled ? 'manifold+keywords' : 'keywords' },
        analysis: a,
        reason,
      };
    });
  }

  /** Learns from an outcome (quality in [0, 1]) of `model` on `prompt`. */
  async feedback(input: { prompt: string; model: string; quality: number; task?: string }): Promise<{ merged: boolean }> {
    if (typeof input?.prompt !== 'string') bad('prompt', 'must be a string');
    this.registry.get(input.model);
    const question = analyze(input.prompt).fewShot.question;
    const embedding = await this.embedder.embed([question]);
    const { merged } = await this.manifold.feedback({ embedding, model: input.model, quality: input.quality, ...(input.task ? { task: input.task } : {}) });
    return { merged };
  }
}

/** A router from a config (object or file path) with the default embedder on the best backend. */
export async function createRouter(config: ArbiterConfig | Record<string, unknown> | string, parts: RouterParts = {}): Promise<Router> {
  let cfg: ArbiterConfig;
  if (typeof config === 'string') cfg = await loadConfig(config);
  else {
    const { source, ...rest } = config as Record<string, unknown>; // a loaded config validates again, minus its source
    cfg = validateConfig(rest, typeof source === 'string' ? source : 'config');
  }
  const backend = parts.backend ?? parts.embedder?.backend ?? (await selectBackend()).backend;
  const embedder = parts.embedder ?? (await StaticEmbedder.load(defaultModelDir(), backend));
  const manifold = parts.manifold ?? new Manifold(backend, { dim: embedder.dim });
  if (manifold.dim !== embedder.dim) bad('manifold', `has dim ${manifold.dim} but the embedder makes ${embedder.dim}`);
  return new Router(new ModelRegistry(cfg), embedder, manifold, parts.k);
}
