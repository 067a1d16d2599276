/**
 * The router as a service object: analyse → embed the question → vote on the manifold → decide.
 * One prompt with route(), many with routeBatch() (one embedding call and one kNN search for the
 * batch), and learning from outcomes with feedback().
 */
import { dirname, isAbsolute, resolve } from 'node:path';

import {
  analyze,
  applyHead,
  headInput,
  mixTaskDistribution,
  type AnalysisHead,
  type HeadOutput,
  type OodDetector,
  type PromptAnalysis,
} from '../analyze/index.js';
import { selectBackend } from '../compute/index.js';
import { loadEmbedder, StaticEmbedder, type Embedder } from '../embed/index.js';
import { ArbiterError, ErrorCodes, fail } from '../errors.js';
import { Manifold, type Vote } from '../manifold/index.js';
import { loadConfig, ModelRegistry, validateConfig, type ArbiterConfig, type RouteOptions } from '../config/index.js';
import { logit } from '../math.js';
import { loadRouterModel } from './artefact.js';
import { checkRouteOptions, decide, type DecideInputs } from './decide.js';
import { FusedPass, type PassOutput } from './fused.js';
import { LoadTracker } from './load.js';
import { Drift, type DriftOptions } from './drift.js';
import { shrunkQuality, type MeasuredTokens } from './predict.js';
import { fitCapability, type Capability, type QualityCalibration } from './quality.js';
import type { CostTable, Decision } from './types.js';
import type { ComputeBackend } from '../compute/index.js';
import { dict, isEmpty, isTaskName, RESERVED_NAMES } from '../names.js';

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

/** What one piece of feedback taught the router, in a form that can be stored and replayed. */
export interface LearnedPoint {
  /** The prompt's embedding (the router's embedder). */
  embedding: Float32Array;
  model: string;
  quality: number;
  task?: string;
  /** The online capability row, when the router has a trained head. */
  capability?: { task: string; x1: number; x2: number };
}

/** What a trained router model adds to routing. */
export interface Learned {
  /** Observed costs from training data (used instead of price estimates where present). */
  costs?: CostTable;
  /** Task head and predicted ease (difficulty). */
  head?: AnalysisHead;
  /** Per-model capability vectors. */
  calibration?: QualityCalibration;
  /** The out-of-distribution test (trained models from this version on). */
  ood?: OodDetector;
}

/** Outcomes kept per model for online capabilities (oldest dropped first). */
const MAX_ONLINE_OUTCOMES = 2000;
/** Pull of online slopes toward the trained models' average. */
const ONLINE_L2 = 2;

export class Router {
  readonly load = new LoadTracker();
  /** Per model: recent outcomes against the prompt's learned difficulty (for online capabilities). */
  private readonly outcomes = new Map<string, Array<{ task: string; x1: number; x2: number; y: number }>>();
  private readonly online: QualityCalibration = dict();
  private closed = false;
  /** Measured latency per model (set from the outcome store's profiles); the config's prior otherwise. */
  readonly measuredLatency = new Map<string, { firstTokenMs: number; tokensPerSec: number }>();
  /** Measured tokens per model (set from the outcome store's profiles): cost and latency follow them. */
  readonly measuredTokens = new Map<string, MeasuredTokens>();
  /**
   * Whether batches take the fused native pass (analysis, tokens, pooling and search in one call)
   * when the embedder and backend allow it; false: the JavaScript reference path.
   */
  nativePass = true;
  private fused: FusedPass | null | undefined;
  /** routeBatch calls in progress. */
  private active = 0;
  /** Corrections from recent ratings against the router's predictions (the engine feeds it). */
  readonly drift: Drift;

  constructor(
    readonly registry: ModelRegistry,
    readonly embedder: Embedder,
    readonly manifold: Manifold,
    private readonly k = 16,
    readonly learned: Learned = {},
    /** Whether close() frees the manifold (false when the caller passed it in and owns it). */
    private readonly ownsManifold = true,
    drift: DriftOptions = { halfLife: 50, priorRatings: 20 },
  ) {
    this.drift = new Drift(drift);
    for (const id of registry.ids()) manifold.addModel(id);
  }

  /** Trained capabilities, plus those learned online where the trained model has none. */
  private calibration(): QualityCalibration {
    const merged: QualityCalibration = {};
    for (const [m, byTask] of Object.entries(this.online)) merged[m] = { ...byTask };
    for (const [m, byTask] of Object.entries(this.learned.calibration ?? {})) merged[m] = { ...merged[m], ...byTask };
    return merged;
  }

  async route(prompt: string, options?: RouteOptions): Promise<Decision> {
    const [d] = await this.routeBatch([prompt], options);
    return d!;
  }

  /** Frees the native memory the router owns (its manifold, unless passed in); later calls fail with ARB_CLOSED. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsManifold) this.manifold.free();
  }

  private open(): void {
    if (this.closed) throw new ArbiterError(ErrorCodes.CLOSED, 'this router is closed', {});
  }

  /**
   * Analyses, embeddings and votes of a batch: one native call when the parts allow, else the JS
   * reference path. The embeddings only where something reads them: the head (and the OOD test on
   * its input) or a manifold with points — a keyword router's empty manifold may gain some from feedback.
   */
  private async pass(prompts: readonly string[]): Promise<PassOutput> {
    const embed = this.learned.head !== undefined || this.manifold.size > 0;
    if (this.nativePass && this.fused === undefined) this.fused = FusedPass.create(this.embedder, this.manifold);
    if (this.nativePass && this.fused) return this.fused.run(prompts, this.k, this.active === 1, embed);
    const analyses = prompts.map((p) => analyze(p));
    if (!embed) return { analyses, embeddings: new Float32Array(0), vote: () => undefined };
    const embeddings = await this.embedder.embed(analyses.map((a) => a.fewShot.question));
    const votes: Array<Vote | undefined> = this.manifold.size > 0 ? await this.manifold.vote(embeddings, this.k) : [];
    return { analyses, embeddings, vote: (i) => votes[i] };
  }

  async routeBatch(prompts: readonly string[], options?: RouteOptions): Promise<Decision[]> {
    const out: Decision[] = [];
    await this.routeEach(prompts, options, (d) => out.push(d));
    return out;
  }

  /**
   * routeBatch's decisions handed to `each` in order as each is made, not gathered: a caller
   * that serialises them at once (`arbiter route`) lets each die young instead of keeping a
   * batch's decisions alive through the collector's scavenges. A throw from the routing leaves
   * `each` called for some of the prompts.
   */
  async routeEach(
    prompts: readonly string[],
    options: RouteOptions | undefined,
    each: (d: Decision, i: number) => void,
  ): Promise<void> {
    this.open();
    if (!Array.isArray(prompts) || prompts.some((p) => typeof p !== 'string'))
      fail('prompts', 'must be an array of strings');
    const o = checkRouteOptions(options);
    for (const id of [...(o.constraints?.allow ?? []), ...(o.constraints?.deny ?? [])]) this.registry.get(id); // unknown ids: ARB_NOT_FOUND
    if (prompts.length === 0) return;
    this.active++;
    try {
      await this.decideBatch(prompts, o, each);
    } finally {
      this.active--;
    }
  }

  private async decideBatch(
    prompts: readonly string[],
    o: RouteOptions,
    each: (d: Decision, i: number) => void,
  ): Promise<void> {
    const { analyses, embeddings: emb, vote: voteOf } = await this.pass(prompts);
    const head = this.learned.head;
    const x = head ? headInput(emb, analyses, this.embedder.dim) : undefined;
    const out: HeadOutput | undefined = head && x ? await applyHead(head, this.manifold.backend, x) : undefined;
    const level = this.registry.routing.oodLevel;
    const ood = this.learned.ood && x && level > 0 ? this.learned.ood : undefined;
    const distances = ood && x ? await ood.distances(this.manifold.backend, x) : undefined;
    const models = this.registry.list();
    const calibration = this.calibration();
    const shared: DecideInputs = { calibration };
    if (this.learned.costs) shared.costs = this.learned.costs;
    if (this.measuredLatency.size) shared.latency = this.measuredLatency;
    if (this.drift.size) shared.drift = this.drift;
    if (this.measuredTokens.size) shared.tokens = this.measuredTokens;
    const decideOne = (a: PromptAnalysis, i: number): Decision => {
      const inputs: DecideInputs = { ...shared };
      const v = voteOf(i); // made here, so it dies with this decision
      if (head && out) {
        const T = head.tasks.length;
        const vote = v?.task.distribution;
        const distribution = mixTaskDistribution(head, out.taskProbs.subarray(i * T, (i + 1) * T), vote);
        const test = ood && distances ? ood.score(distances[i]!, distribution) : undefined;
        if (test && test.pValue < level) {
          // unlike the training prompts: neither the head's task nor the neighbours' outcomes are
          // evidence here, so the predictions come from the priors
          inputs.task = { distribution: { general: 1 }, source: 'ood', confidence: test.pValue };
          return decide(prompts[i]!, a, undefined, models, o, this.registry.routing, this.load, inputs);
        }
        const ease: Record<string, number> = dict();
        const byTask: Record<string, number> = dict();
        let value = 0;
        for (let j = 0; j < T; j++) {
          const t = head.tasks[j]!;
          ease[t] = out.ease[i * T + j]!;
          byTask[t] = 1 - ease[t];
          value += (distribution[t] ?? 0) * byTask[t];
        }
        a.difficulty = { value, byTask };
        inputs.ease = ease;
        inputs.task = {
          distribution,
          source: vote && !isEmpty(vote) && head.knnWeight > 0 ? 'head+manifold' : 'head',
        };
      }
      return decide(prompts[i]!, a, v, models, o, this.registry.routing, this.load, inputs);
    };
    for (let i = 0; i < analyses.length; i++) each(decideOne(analyses[i]!, i), i);
  }

  /**
   * Learns from an outcome (quality in [0, 1]) of `model` on `prompt`: a feedback point on the
   * manifold and, with a trained model, the outcome against the prompt's learned difficulty — a
   * model without a trained capability for the task gets one fitted from its outcomes (from 3 on),
   * its slopes pulled toward the trained models' average, so a new model needs few outcomes.
   * Returns the learned point too: stored, it can be replayed with `learn()` after a restart.
   */
  async feedback(input: {
    prompt: string;
    model: string;
    quality: number;
    task?: string;
  }): Promise<{ merged: boolean; capability?: Capability; point: LearnedPoint }> {
    this.open();
    if (typeof input?.prompt !== 'string') fail('prompt', 'must be a string');
    const spec = this.registry.get(input.model);
    if (typeof input.quality !== 'number' || !(input.quality >= 0 && input.quality <= 1))
      fail('quality', `must be a number in [0, 1], got ${String(input.quality)}`);
    if (input.task !== undefined && !isTaskName(input.task))
      fail('task', `must be a lower-case word other than ${RESERVED_NAMES.join(', ')}`);
    const analysis = analyze(input.prompt);
    const embedding = await this.embedder.embed([analysis.fewShot.question]);
    const point: LearnedPoint = {
      embedding,
      model: input.model,
      quality: input.quality,
      ...(input.task ? { task: input.task } : {}),
    };
    const head = this.learned.head;
    if (head) {
      // the prediction's inputs before this outcome joins the manifold
      const [vote] = this.manifold.size > 0 ? await this.manifold.vote(embedding, this.k) : [undefined];
      const out = await applyHead(head, this.manifold.backend, headInput(embedding, [analysis], this.embedder.dim));
      const dist = mixTaskDistribution(head, out.taskProbs, vote?.task.distribution);
      const task = input.task ?? head.tasks.reduce((a, b) => ((dist[b] ?? 0) > (dist[a] ?? 0) ? b : a));
      const t = head.tasks.indexOf(task);
      if (t >= 0)
        point.capability = { task, x1: logit(out.ease[t]!), x2: logit(shrunkQuality(spec, dist, vote).quality) };
    }
    return { ...(await this.learn(point)), point };
  }

  /**
   * Applies a learned point (from feedback now, or replayed from the store after a restart): the
   * capability row, refitting the model's online capability from its 3rd outcome on, and the
   * manifold's feedback point. A point for a model no longer configured is skipped.
   */
  async learn(point: LearnedPoint): Promise<{ merged: boolean; capability?: Capability }> {
    this.open();
    if (!this.registry.has(point.model)) return { merged: false };
    let capability: Capability | undefined;
    const c = point.capability;
    if (c && !this.learned.calibration?.[point.model]?.[c.task]) {
      const rows = this.outcomes.get(point.model) ?? [];
      rows.push({ task: c.task, x1: c.x1, x2: c.x2, y: point.quality });
      if (rows.length > MAX_ONLINE_OUTCOMES) rows.shift();
      this.outcomes.set(point.model, rows);
      const mine = rows.filter((r) => r.task === c.task);
      if (mine.length >= 3) {
        capability = fitCapability(
          mine.map((r) => r.x1),
          mine.map((r) => r.x2),
          mine.map((r) => r.y),
          ONLINE_L2,
          this.populationSlopes(c.task),
        );
        (this.online[point.model] ??= dict())[c.task] = capability;
      }
    }
    const { merged } = await this.manifold.feedback({
      embedding: point.embedding,
      model: point.model,
      quality: point.quality,
      ...(point.task ? { task: point.task } : {}),
    });
    return { merged, ...(capability ? { capability } : {}) };
  }

  /** The embedder's identity: stored learned points are replayed only into a router with the same one. */
  get embedderId(): string {
    return `${this.embedder.kind}:${this.embedder.fingerprint}`;
  }

  /** Capabilities learned from feedback (models or tasks the trained model does not cover). */
  get onlineCapabilities(): Readonly<QualityCalibration> {
    return this.online;
  }

  /** Mean slopes (b, c) of the trained models' capabilities for a task: where a new model starts. */
  private populationSlopes(task: string): [number, number] {
    const caps = Object.values(this.learned.calibration ?? {}).flatMap((byTask) =>
      byTask[task] ? [byTask[task]!] : [],
    );
    if (!caps.length) return [0, 1]; // no trained models: trust the model's own kNN quality as is
    return [caps.reduce((s, c) => s + c[1], 0) / caps.length, caps.reduce((s, c) => s + c[2], 0) / caps.length];
  }
}

/** A router from a config (object or file path) with the default embedder on the best backend. */
export async function createRouter(
  config: ArbiterConfig | Record<string, unknown> | string,
  parts: RouterParts = {},
): Promise<Router> {
  let cfg: ArbiterConfig;
  if (typeof config === 'string') cfg = await loadConfig(config);
  else {
    const { source, ...rest } = config as Record<string, unknown>; // a loaded config validates again, minus its source
    cfg = validateConfig(rest, typeof source === 'string' ? source : 'config');
  }
  const backend =
    parts.backend ??
    (parts.embedder instanceof StaticEmbedder ? parts.embedder.backend : undefined) ??
    (await selectBackend()).backend;
  // relative paths in a config file are from its folder
  // (an in-memory config's source is a label: its paths are from the working directory)
  const fromConfig = (p: string) => (isAbsolute(p) ? p : resolve(dirname(cfg.source), p));
  // the embedder and the router model load side by side (the model's files are read and hashed
  // while the embedder's tokenizer is built); an embedder that fails is reported first, as it
  // would be loading one after the other
  const loading = parts.embedder
    ? Promise.resolve(parts.embedder)
    : loadEmbedder(cfg.routing.embedder, backend, fromConfig);
  const modelDir = parts.model ?? (cfg.routing.model ? fromConfig(cfg.routing.model) : undefined);
  const trainedLoading = modelDir ? loadRouterModel(modelDir, loading, backend) : undefined;
  trainedLoading?.catch(() => {}); // awaited below, after the embedder
  const embedder = await loading;
  const trained = await trainedLoading;
  if (trained) matchModels(trained, cfg, modelDir!);
  if (trained) {
    // learned per-task strengths fill in what the config does not set (the config wins); the
    // overall mean ('*' in the model folder) is the config's 'general' fallback
    const learned = (id: string) =>
      Object.fromEntries(Object.entries(trained.strengths[id] ?? {}).map(([t, q]) => [t === '*' ? 'general' : t, q]));
    const models = cfg.models.map((m) => ({ ...m, strengths: { ...learned(m.id), ...m.strengths } }));
    cfg = validateConfig({ models, routing: cfg.routing }, cfg.source);
  }
  const manifold = parts.manifold ?? trained?.manifold ?? new Manifold(backend, { dim: embedder.dim });
  if (manifold.dim !== embedder.dim) fail('manifold', `has dim ${manifold.dim} but the embedder makes ${embedder.dim}`);
  return new Router(
    new ModelRegistry(cfg),
    embedder,
    manifold,
    parts.k ?? cfg.routing.k,
    trained
      ? {
          costs: trained.costs,
          head: trained.head,
          calibration: trained.calibration,
          ...(trained.ood ? { ood: trained.ood } : {}),
        }
      : {},
    parts.manifold === undefined,
    cfg.routing.drift,
  );
}

/**
 * Puts a router model's model ids in the config's terms: `routing.modelMap` renames (config id →
 * the id the router model knows), and a config none of whose models the router model knows is
 * refused — every prediction would silently fall back to the priors. Config models it does not
 * know are fine: they start from their priors and learn from feedback.
 */
function matchModels(trained: Awaited<ReturnType<typeof loadRouterModel>>, cfg: ArbiterConfig, dir: string): void {
  const ids = new Set(cfg.models.map((m) => m.id));
  for (const [mine, theirs] of Object.entries(cfg.routing.modelMap ?? {})) {
    const bad = (msg: string) =>
      new ArbiterError(ErrorCodes.INVALID_CONFIG, `routing.modelMap.${mine} ${msg}`, {
        param: `routing.modelMap.${mine}`,
      });
    if (!ids.has(mine)) throw bad(`is not a configured model (have: ${[...ids].join(', ')})`);
    if (!trained.manifold.modelIds.includes(theirs))
      throw bad(
        `${JSON.stringify(theirs)} is not a model of ${dir} (it knows: ${trained.manifold.modelIds.join(', ')})`,
      );
    trained.manifold.renameModel(theirs, mine);
    for (const table of [trained.strengths, trained.costs, trained.calibration] as Array<
      Record<string, unknown> | undefined
    >)
      if (table && theirs in table) {
        table[mine] = table[theirs];
        delete table[theirs];
      }
  }
  const known = trained.manifold.modelIds;
  if (!cfg.models.some((m) => known.includes(m.id)))
    throw new ArbiterError(
      ErrorCodes.INVALID_CONFIG,
      `routing.model ${dir} knows ${known.join(', ')}; the config has ${[...ids].join(', ')}: none match, so every prediction would fall back to the priors — name the models alike, or map them with routing.modelMap {configId: routerModelId}`,
      { param: 'routing.model' },
    );
}
