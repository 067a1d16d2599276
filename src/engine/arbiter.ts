/**
 * The engine's front door (built by `createArbiter(config)`, create.ts): one object that routes (`route`,
 * `routeBatch`), executes (`complete` with the fallback plan, JSON or streaming; `decode` with a
 * reward-guided strategy), records (one outcome event per request, to every subscriber) and
 * learns (`feedback`). `close()` stops new requests, waits for those in flight (at most
 * `drainTimeoutMs`), then frees what the engine owns.
 */
import { EventEmitter } from 'node:events';

import { selectBackend, type ComputeBackend } from '../compute/index.js';
import { validateConfig, type ArbiterConfig, type DecodeOptions, type RouteOptions } from '../config/index.js';
import { defaultRewards, type Rewards } from '../decoding/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { Experiments } from '../experiments/index.js';
import { promptOf, type ChatRequest, type Upstream } from '../providers/index.js';
import type { Capability, Decision, Router } from '../router/index.js';
import { Profiles, type OutcomeStore, type StatsQuery } from '../store/index.js';
import { createAutoScorer, type AutoScorer } from './autoscore.js';
import type { Completion, CompletionStream, CompleteRequest } from './complete.js';
import { decodeRequest, type DecodeOutcome } from './decode.js';
import { checkEvery, createExperiment, experimentChecker, experimentMeta } from './experiment.js';
import { pointFrom, pointRow, forgetLearned, rate, type Rating, type RateResult } from './feedback.js';
import { RecentRequests } from './recent.js';
import {
  OutcomeRecorder,
  summarize,
  type DecisionSummary,
  type OutcomeEvent,
  type OutcomeListener,
} from './outcome.js';
import type { PipelineRun } from './pipeline.js';
import { loadArmRouters } from './arm-routers.js';
import { execution, type DispatchContext, type Execution } from './dispatch.js';
import { prepareRequest, type Prepared } from './prepare.js';
import { rebuildProfiles } from './rebuild.js';

export interface EngineParts {
  router: Router;
  upstreams: Map<string, Upstream>;
  rewards?: Rewards;
  /** Decoding defaults and the rest of the config (default: the router's config with schema defaults). */
  config?: ArbiterConfig;
  backend?: ComputeBackend;
  drainTimeoutMs?: number;
  /** Where outcomes are recorded (none: not recorded; feedback by id then reaches recent requests only). */
  store?: OutcomeStore;
  /** The config's experiments, with their states (Experiments.load). */
  experiments?: Experiments;
  /** Experiment arms' trained routers, by `<experiment>/<arm>` (arm-routers.ts). */
  armRouters?: Map<string, Router>;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** The request id (default: a random UUID); its outcome event carries it. */
  id?: string;
  /** The API key's id (a hash, never the key), recorded with the request. */
  keyId?: string;
  /** The request's headers, lower-case names (experiments scoped by a header). */
  headers?: Readonly<Record<string, string | undefined>>;
}

export class Arbiter {
  readonly router: Router;
  readonly upstreams: Map<string, Upstream>;
  readonly rewards: Rewards;
  readonly config: ArbiterConfig;
  readonly backend: ComputeBackend | undefined;
  readonly store: OutcomeStore | undefined;
  readonly experiments: Experiments | undefined;
  private experimentTimer: NodeJS.Timeout | undefined;
  /** Pipeline phase outputs, for pipelines with `cache: true` (bounded: PIPELINE_CACHE_ENTRIES). */
  private readonly pipelineCache = new Map<string, { output: string; model: string }>();
  private readonly armRouters: Map<string, Router>;
  private readonly events = new EventEmitter();
  private readonly learnedFrom = new Set<string>();
  private readonly recent = new RecentRequests((id) => forgetLearned(this.learnedFrom, id));
  /** Per-model latency, errors, cost and weighted rated quality, from outcomes and ratings. */
  readonly profiles: Profiles;
  /** Automatic scoring of a share of answers (store.autoScore), when configured. */
  readonly autoScore: AutoScorer | undefined;
  private inFlight = 0;
  private closing: Promise<void> | undefined;
  private readonly drainTimeoutMs: number;
  private drained: (() => void) | undefined;

  constructor(parts: EngineParts) {
    this.router = parts.router;
    this.upstreams = parts.upstreams;
    this.rewards = parts.rewards ?? defaultRewards();
    this.config =
      parts.config ??
      validateConfig(
        { models: parts.router.registry.list(), routing: parts.router.registry.routing },
        parts.router.registry.source,
      );
    this.backend = parts.backend;
    this.drainTimeoutMs = parts.drainTimeoutMs ?? 30_000;
    this.store = parts.store;
    this.experiments = parts.experiments;
    this.armRouters = parts.armRouters ?? new Map();
    this.experimentTimer = parts.experiments && checkEvery(parts.experiments);
    const p = this.config.store?.profiles;
    this.profiles = new Profiles({ minCalls: p?.minCalls ?? 20, halfLife: p?.halfLife ?? 100 });
    this.events.setMaxListeners(0);
    this.events.on('outcome', (e: OutcomeEvent) => {
      this.store?.record(e);
      this.recent.remember(e);
      this.observe(e);
      this.autoScore?.offer(e);
    });
    // the judge's own calls are recorded as requests of kind score, so what scoring costs is kept
    this.autoScore = createAutoScorer(this.config.store?.autoScore, this.rewards, {
      rate: (id, score, source) => this.rate(id, { score, source }),
      cost: (c) => {
        const rec = this.recorder('score', undefined);
        const { model, latencyMs, tokens, cost } = c;
        rec.call({ model, status: 'ok', latencyMs, promptTokens: 0, completionTokens: tokens, cost });
        rec.finish({ model });
      },
    });
  }

  /** Profiles take the event's calls; a model with enough calls gets its measured latency into routing. */
  private observe(e: Pick<OutcomeEvent, 'calls'> & { decision?: Pick<DecisionSummary, 'task' | 'inputTokens'> }): void {
    for (const model of this.profiles.observe(e)) {
      if (!this.router.registry.has(model)) continue;
      const l = this.profiles.latency(model, this.router.registry.get(model).latency.tokensPerSec);
      if (l) this.router.measuredLatency.set(model, { firstTokenMs: l.firstTokenMs, tokensPerSec: l.tokensPerSec });
      const t = this.profiles.tokens(model);
      if (t) this.router.measuredTokens.set(model, t);
    }
  }

  /** Subscribes to outcome events; returns the unsubscribe function. */
  onOutcome(listener: OutcomeListener): () => void {
    const safe = (e: OutcomeEvent) => {
      try {
        listener(e);
      } catch (err) {
        this.events.emit('listenerError', err);
      }
    };
    this.events.on('outcome', safe);
    return () => this.events.off('outcome', safe);
  }

  /** Errors thrown by outcome subscribers (they never fail a request). */
  onListenerError(listener: (e: unknown) => void): () => void {
    this.events.on('listenerError', listener);
    return () => this.events.off('listenerError', listener);
  }

  /** Requests (and open streams) in flight. */
  get active(): number {
    return this.inFlight;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  route(prompt: string, options?: RouteOptions): Promise<Decision> {
    return this.guard(() => this.router.route(prompt, options));
  }

  routeBatch(prompts: readonly string[], options?: RouteOptions): Promise<Decision[]> {
    return this.guard(() => this.router.routeBatch(prompts, options));
  }

  /**
   * Records a routing decision made for a caller who calls the model itself (POST /v1/route): start
   * it before routing, then `decided` or `failed`. The decision's id can then be rated by id.
   */
  routeRecord(request: RequestOptions = {}): {
    id: string;
    decided: (prompt: string, d: Decision) => void;
    failed: (e: unknown) => void;
  } {
    const rec = this.recorder('route', request.id);
    rec.keyId = request.keyId;
    return {
      id: rec.id,
      decided: (prompt, d) => {
        rec.prompt = prompt;
        rec.decision = summarize(d);
        rec.finish({ model: d.model });
      },
      failed: (e) => void rec.finish({ error: e }),
    };
  }

  /** Creates an experiment (the admin API): checked with the config's rules, kept in the store. */
  createExperiment(def: unknown) {
    return this.guard(async () => {
      if (!this.experiments)
        throw new ArbiterError(ErrorCodes.INVALID_CONFIG, 'experiments need an outcome store (set store.url)', {
          param: 'store.url',
        });
      // an arm's trained router is loaded before anything is kept: a bad folder changes nothing
      const checked = experimentChecker(this.config)([...this.experiments.defs, def]).at(-1)!;
      const backend = this.backend ?? (await selectBackend()).backend;
      await loadArmRouters(this.config, [checked], backend, this.armRouters);
      return createExperiment(this.experiments, this.config, def);
    });
  }

  /** Routes the request (unless it names a model) and calls the plan's models until one answers. */
  complete(req: CompleteRequest & { stream?: false }, options?: RequestOptions): Promise<Completion>;
  complete(req: CompleteRequest & { stream: true }, options?: RequestOptions): Promise<CompletionStream>;
  complete(req: CompleteRequest, options?: RequestOptions): Promise<Completion | CompletionStream>;
  async complete(asked: CompleteRequest, options: RequestOptions = {}): Promise<Completion | CompletionStream> {
    this.enter();
    const rec = this.recorder(asked.stream ? 'stream' : 'complete', options.id);
    rec.keyId = options.keyId;
    let prepared: Prepared;
    try {
      prepared = await prepareRequest(this, asked, rec, options);
    } catch (e) {
      rec.finish({ error: e });
      this.leave();
      throw e;
    }
    const { req, assignment, agent } = prepared;
    const meta = (reason: string) => experimentMeta(assignment, agent ? `${agent}; ${reason}` : reason);
    const signal = options.signal ?? new AbortController().signal;
    let run: Execution;
    try {
      run = execution(this.dispatch, req, rec, signal);
    } catch (e) {
      rec.finish({ error: e });
      this.leave();
      throw e;
    }
    if (!req.stream) {
      try {
        const r = await run.json();
        return { ...r, ...meta(r.reason) };
      } catch (e) {
        rec.finish({ error: e });
        throw e;
      } finally {
        this.leave();
      }
    }
    let s: CompletionStream;
    try {
      s = await run.stream();
    } catch (e) {
      rec.finish({ error: e });
      this.leave();
      throw e;
    }
    return { ...s, ...meta(s.reason), chunks: this.untilEnd(s.chunks) };
  }

  /** What dispatch needs of the engine (dispatch.ts). */
  private get dispatch(): DispatchContext {
    return {
      router: this.router,
      upstreams: this.upstreams,
      rewards: this.rewards,
      config: this.config,
      pipelineCache: this.pipelineCache,
      armRouters: this.armRouters,
    };
  }

  /** Runs a pipeline on a prompt (the library form of `pipeline:<id>`): the run with every phase's result. */
  async runPipeline(id: string, chat: ChatRequest, options: RequestOptions = {}): Promise<PipelineRun> {
    const r = (await this.complete({ ...chat, model: `pipeline:${id}`, stream: false }, options)) as Completion & {
      pipeline: PipelineRun;
    };
    return r.pipeline;
  }

  /** A reward-guided decoding request (several calls; the chosen answer and its accounting). */
  async decode(
    chat: ChatRequest,
    options: DecodeOptions,
    request: RequestOptions = {},
  ): Promise<DecodeOutcome & { id: string }> {
    this.enter();
    const rec = this.recorder('decode', request.id);
    rec.keyId = request.keyId;
    rec.prompt = promptOf(chat);
    try {
      const r = await decodeRequest(
        {
          router: this.router,
          upstreams: this.upstreams,
          rewards: this.rewards,
          defaults: this.config.decoding,
          recorder: rec,
        },
        chat,
        options,
        request.signal,
      );
      rec.answer = r.content;
      rec.finish({ model: r.model });
      return Object.assign(r, { id: rec.id });
    } catch (e) {
      rec.finish({ error: e });
      throw e;
    } finally {
      this.leave();
    }
  }

  /** Learns from an outcome (quality in [0, 1]) of `model` on `prompt`; what it learned is stored. */
  feedback(input: {
    prompt: string;
    model: string;
    quality: number;
    task?: string;
  }): Promise<{ merged: boolean; capability?: Capability }> {
    return this.guard(async () => {
      const { point, ...r } = await this.router.feedback(input);
      await this.store?.sql.addLearned(pointRow(point, this.router.embedderId));
      return r;
    });
  }

  /**
   * Feedback on a request by its id (a score 0–1, a rating 1–5 or thumbs; one per source):
   * stored, and taught to the router when the prompt is known. `who`: the caller's key id; admin
   * (the default for library calls) may rate any request, a client key only its own.
   */
  rate(
    requestId: string,
    rating: Rating,
    who: { keyId?: string; admin?: boolean } = { admin: true },
  ): Promise<RateResult> {
    return this.guard(() =>
      rate(
        {
          router: this.router,
          store: this.store,
          recent: this.recent,
          learnedFrom: this.learnedFrom,
          profiles: this.profiles,
        },
        requestId,
        rating,
        who,
      ),
    );
  }

  /** A recorded request: its row, calls, feedback and (when kept) text; undefined when unknown. */
  request(id: string) {
    return this.guard(async () => this.store?.request(id));
  }

  /** Per model × task over a window (volume, errors, cost, latency, rated quality with its interval), and spend per key. */
  stats(q: StatsQuery = {}) {
    return this.guard(async () => {
      if (!this.store)
        throw new ArbiterError(ErrorCodes.UNSUPPORTED, 'no outcome store is configured (store.url)', {
          param: 'store.url',
        });
      const [models, spend] = await Promise.all([this.store.stats(q), this.store.spend(q.since)]);
      return {
        since: q.since ?? Date.now() - 7 * 86_400_000,
        models,
        spend: q.keyId ? spend.filter((s) => s.keyId === q.keyId) : spend,
        // since this engine started (rebuilt from the last day of calls and week of ratings)
        profiles: this.profiles.snapshot(),
        // what recent ratings say against the router's predictions: model → task → correction
        drift: this.router.drift.snapshot(),
      };
    });
  }

  /** Rebuilds the profiles from the store: the last day of calls, the last week of ratings. */
  async rebuildProfiles(now = Date.now()): Promise<void> {
    if (this.store) await rebuildProfiles(this.store, this.router, this.profiles, (e) => this.observe(e), now);
  }

  /** Replays what the router learned from stored feedback (on start and reload); returns how many points. */
  async replayLearned(): Promise<number> {
    if (!this.store) return 0;
    const rows = await this.store.sql.learned(this.router.embedderId);
    for (const r of rows) await this.router.learn(pointFrom(r));
    return rows.length;
  }

  /**
   * Stops taking requests (they fail with ARB_CLOSED), waits for those in flight (open streams
   * included) up to drainTimeoutMs, then frees the router's native memory. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.inFlight > 0)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.drainTimeoutMs);
          timer.unref();
          this.drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      clearInterval(this.experimentTimer);
      await this.autoScore?.close();
      await this.store?.close().catch(() => {});
      this.router.close();
      this.events.removeAllListeners();
    })();
    return this.closing;
  }

  private recorder(kind: OutcomeRecorder['kind'], id: string | undefined): OutcomeRecorder {
    return new OutcomeRecorder(kind, (e) => this.events.emit('outcome', e), id);
  }

  private enter(): void {
    if (this.closing) throw new ArbiterError(ErrorCodes.CLOSED, 'this arbiter is closed', {});
    this.inFlight++;
  }

  private leave(): void {
    if (--this.inFlight === 0) this.drained?.();
  }

  private async guard<T>(f: () => Promise<T>): Promise<T> {
    this.enter();
    try {
      return await f();
    } finally {
      this.leave();
    }
  }

  /** Counts a stream as in flight until it ends. */
  private async *untilEnd<T>(chunks: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* chunks;
    } finally {
      this.leave();
    }
  }
}
