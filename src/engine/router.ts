/**
 * The router as a service object: analyse → embed the question → vote on the manifold → decide.
 * One prompt with route(), many with routeBatch() (one embedding call and one kNN search for the
 * batch), and learning from outcomes with feedback().
 */
import { dirname, isAbsolute, resolve } from 'node:path';

import { analyze, applyHead, headInput, mixTaskDistribution, type AnalysisHead, type HeadOutput } from '../analyze/index.js';
import { selectBackend } from '../compute/index.js';
import { loadEmbedder, StaticEmbedder, type Embedder } from '../embed/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { Manifold, type Vote } from '../manifold/index.js';
import { loadConfig, ModelRegistry, validateConfig, type ArbiterConfig } from '../models/index.js';
import { checkRouteOptions, decide, LoadTracker, type CostTable, type Decision, type DecideInputs, type QualityCalibration, type RouteOptions } from '../router/index.js';
import { loadRouterModel } from './model.js';
import type { ComputeBackend } from '../compute/index.js';

export interface RouterParts {
  backend?: ComputeBackend;
  /** Default: the static embedder in models/default. */
  embedder?: Embedder;
  /** Reference outcomes; an empty one is created when absent (routing then uses the priors). */
  manifold?: Manifold;
  /** kNN neighbours per vote. */
  k?: number;
  /** A trained router model folder (arbiter train): its manifold, analysis head, capabilities and observed costs. */
  model?: string;
}

/** What a trained router model adds to routing. */
export interface Learned {
  /** Observed costs from training data (used instead of price estimates where present). */
  costs?: CostTable;
  /** Task head and predicted ease (difficulty). */
  head?: AnalysisHead;
  /** Per-model capability vectors. */
  calibration?: QualityCalibration;
}

const bad = (param: string, msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${param} ${msg}`, { param });
};

export class Router {
  readonly load = new LoadTracker();

  constructor(
    readonly registry: ModelRegistry,
    readonly embedder: Embedder,
    readonly manifold: Manifold,
    private readonly k = 16,
    readonly learned: Learned = {},
  ) {
    for (const id of registry.ids()) manifold.addModel(id);
  }

  async route(prompt: string, options?: RouteOptions): Promise<Decision> {
    const [d] = await this.routeBatch([prompt], options);
    return d!;
  }

  async routeBatch(prompts: readonly string[], options?: RouteOptions): Promise<Decision[]> {
    if (!Array.isArray(prompts) || prompts.some((p) => typeof p !== 'string')) bad('prompts', 'must be an array of strings');
    const o = checkRouteOptions(options);
    for (const id of [...(o.constraints?.allow ?? []), ...(o.constraints?.deny ?? [])]) this.registry.get(id); // unknown ids: ARB_NOT_FOUND
    if (prompts.length === 0) return [];
    const analyses = prompts.map((p) => analyze(p));
    const emb = await this.embedder.embed(analyses.map((a) => a.fewShot.question));
    const votes: Array<Vote | undefined> = this.manifold.size > 0 ? await this.manifold.vote(emb, this.k) : [];
    const head = this.learned.head;
    const out: HeadOutput | undefined = head ? await applyHead(head, this.manifold.backend, headInput(emb, analyses, this.embedder.dim)) : undefined;
    const models = this.registry.list();
    return analyses.map((a, i) => {
      const inputs: DecideInputs = { ...(this.learned.costs ? { costs: this.learned.costs } : {}), ...(this.learned.calibration ? { calibration: this.learned.calibration } : {}) };
      if (head && out) {
        const T = head.tasks.length;
        const vote = votes[i]?.task.distribution;
        const distribution = mixTaskDistribution(head, out.taskProbs.subarray(i * T, (i + 1) * T), vote);
        const ease: Record<string, number> = {};
        const byTask: Record<string, number> = {};
        head.tasks.forEach((t, j) => {
          ease[t] = out.ease[i * T + j]!;
          byTask[t] = 1 - ease[t];
        });
        const value = head.tasks.reduce((s, t) => s + (distribution[t] ?? 0) * byTask[t]!, 0);
        a.difficulty = { value, byTask };
        inputs.ease = ease;
        inputs.task = { distribution, source: vote && Object.keys(vote).length && head.knnWeight > 0 ? 'head+manifold' : 'head' };
      }
      return decide(prompts[i]!, a, votes[i], models, o, this.registry.routing, this.load, inputs);
    });
  }

  /** Learns from an outcome (quality in [0, 1]) of `model` on `prompt`. */
  async feedback(input: { prompt: string; model: string; quality: number; task?: string }): Promise<{ merged: boolean }> {
    if (typeof input?.prompt !== 'string') bad('prompt', 'must be a string');
    this.registry.get(input.model);
    const embedding = await this.embedder.embed([analyze(input.prompt).fewShot.question]);
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
  const backend = parts.backend ?? (parts.embedder instanceof StaticEmbedder ? parts.embedder.backend : undefined) ?? (await selectBackend()).backend;
  // relative paths in a config file are from its folder
  // (an in-memory config's source is a label: its paths are from the working directory)
  const fromConfig = (p: string) => (isAbsolute(p) ? p : resolve(dirname(cfg.source), p));
  const embedder = parts.embedder ?? (await loadEmbedder(cfg.routing.embedder, backend, fromConfig));
  const modelDir = parts.model ?? (cfg.routing.model ? fromConfig(cfg.routing.model) : undefined);
  const trained = modelDir ? await loadRouterModel(modelDir, embedder, backend) : undefined;
  if (trained) {
    // learned per-task strengths fill in what the config does not set (the config wins); the
    // overall mean ('*' in the model folder) is the config's 'general' fallback
    const learned = (id: string) => Object.fromEntries(Object.entries(trained.strengths[id] ?? {}).map(([t, q]) => [t === '*' ? 'general' : t, q]));
    const models = cfg.models.map((m) => ({ ...m, strengths: { ...learned(m.id), ...m.strengths } }));
    cfg = validateConfig({ models, routing: cfg.routing }, cfg.source);
  }
  const manifold = parts.manifold ?? trained?.manifold ?? new Manifold(backend, { dim: embedder.dim });
  if (manifold.dim !== embedder.dim) bad('manifold', `has dim ${manifold.dim} but the embedder makes ${embedder.dim}`);
  return new Router(new ModelRegistry(cfg), embedder, manifold, parts.k ?? cfg.routing.k, trained ? { costs: trained.costs, head: trained.head, calibration: trained.calibration } : {});
}
