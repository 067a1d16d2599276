/**
 * The engine's front door: `createArbiter(config)` gives one object that routes (`route`,
 * `routeBatch`), executes (`complete` with the fallback plan, JSON or streaming; `decode` with a
 * reward-guided strategy), records (one outcome event per request, to every subscriber) and
 * learns (`feedback`). `close()` stops new requests, waits for those in flight (at most
 * `drainTimeoutMs`), then frees what the engine owns.
 */
import { EventEmitter } from 'node:events';

import { selectBackend, type ComputeBackend } from '../compute/index.js';
import {
  loadConfig,
  validateConfig,
  type ArbiterConfig,
  type DecodeOptions,
  type RouteOptions,
} from '../config/index.js';
import { defaultRewards, type Rewards } from '../decoding/index.js';
import type { Embedder } from '../embed/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { createUpstreams, type ChatRequest, type GateOptions, type Upstream } from '../providers/index.js';
import { createRouter, type Decision, type Router } from '../router/index.js';
import { complete, completeStream, type Completion, type CompletionStream, type CompleteRequest } from './complete.js';
import { decodeRequest, type DecodeOutcome } from './decode.js';
import { OutcomeRecorder, type OutcomeEvent, type OutcomeListener } from './outcome.js';
import { loadRewards } from './rewards.js';

export interface ArbiterParts {
  backend?: ComputeBackend;
  embedder?: Embedder;
  /** Gate settings for every model (tests shorten backoffs and cool-downs). */
  gate?: Partial<GateOptions>;
  /** Where API keys are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** How long close() waits for requests in flight (default 30 s). */
  drainTimeoutMs?: number;
  /** The engine this one replaces (a reload): models that remain keep their gates' state. */
  previous?: Arbiter;
}

/** An engine assembled from parts already built (a router, its upstreams, rewards). */
export interface EngineParts {
  router: Router;
  upstreams: Map<string, Upstream>;
  rewards?: Rewards;
  /** Decoding defaults and the rest of the config (default: the router's config with schema defaults). */
  config?: ArbiterConfig;
  backend?: ComputeBackend;
  drainTimeoutMs?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** The request id (default: a random UUID); its outcome event carries it. */
  id?: string;
}

export class Arbiter {
  readonly router: Router;
  readonly upstreams: Map<string, Upstream>;
  readonly rewards: Rewards;
  readonly config: ArbiterConfig;
  readonly backend: ComputeBackend | undefined;
  private readonly events = new EventEmitter();
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
    this.events.setMaxListeners(0);
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

  /** Routes the request (unless it names a model) and calls the plan's models until one answers. */
  complete(req: CompleteRequest & { stream?: false }, options?: RequestOptions): Promise<Completion>;
  complete(req: CompleteRequest & { stream: true }, options?: RequestOptions): Promise<CompletionStream>;
  complete(req: CompleteRequest, options?: RequestOptions): Promise<Completion | CompletionStream>;
  async complete(req: CompleteRequest, options: RequestOptions = {}): Promise<Completion | CompletionStream> {
    this.enter();
    const rec = this.recorder(req.stream ? 'stream' : 'complete', options.id);
    const signal = options.signal ?? new AbortController().signal;
    if (!req.stream) {
      try {
        return await complete(this, req, rec, signal);
      } catch (e) {
        rec.finish({ error: e });
        throw e;
      } finally {
        this.leave();
      }
    }
    let s: CompletionStream;
    try {
      s = await completeStream(this, req, rec, signal);
    } catch (e) {
      rec.finish({ error: e });
      this.leave();
      throw e;
    }
    return { ...s, chunks: this.untilEnd(s.chunks) };
  }

  /** A reward-guided decoding request (several calls; the chosen answer and its accounting). */
  async decode(
    chat: ChatRequest,
    options: DecodeOptions,
    request: RequestOptions = {},
  ): Promise<DecodeOutcome & { id: string }> {
    this.enter();
    const rec = this.recorder('decode', request.id);
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
      rec.finish({ model: r.model });
      return Object.assign(r, { id: rec.id });
    } catch (e) {
      rec.finish({ error: e });
      throw e;
    } finally {
      this.leave();
    }
  }

  /** Learns from an outcome (quality in [0, 1]) of `model` on `prompt`. */
  feedback(input: { prompt: string; model: string; quality: number; task?: string }): ReturnType<Router['feedback']> {
    return this.guard(() => this.router.feedback(input));
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

/**
 * An engine from a config (a file path, or an object validated like one): its router (and trained
 * router model, if the config names one), every model's provider and gate, and its rewards.
 */
export async function createArbiter(
  config: string | ArbiterConfig | Record<string, unknown>,
  parts: ArbiterParts = {},
): Promise<Arbiter> {
  let cfg: ArbiterConfig;
  if (typeof config === 'string') cfg = await loadConfig(config);
  else {
    const { source, ...rest } = config as Record<string, unknown>;
    cfg = validateConfig(rest, typeof source === 'string' ? source : 'config');
  }
  const backend = parts.backend ?? (await selectBackend()).backend;
  const router = await createRouter(cfg, { backend, ...(parts.embedder ? { embedder: parts.embedder } : {}) });
  const upstreams = await createUpstreams(cfg, parts.env ?? process.env, parts.gate ?? {}, parts.previous?.upstreams);
  const rewards = await loadRewards(cfg, backend, upstreams, router.registry);
  return new Arbiter({
    router,
    upstreams,
    rewards,
    config: cfg,
    backend,
    ...(parts.drainTimeoutMs !== undefined ? { drainTimeoutMs: parts.drainTimeoutMs } : {}),
  });
}
