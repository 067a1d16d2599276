/**
 * route → call → fall back: a chat request for `auto` (or `auto:<strategy>`, or a configured model
 * id) is routed, then each model of the decision's plan is tried through its gate until one
 * answers. JSON or streaming: a stream's first chunk decides whether its model answers (a failure
 * before it falls back); its slot is held until the stream ends, so caps count streams in
 * progress; a failure after it is ARB_STREAM_INTERRUPTED. One outcome event per request.
 */
import { STRATEGIES, type Strategy } from '../config/index.js';
import { ArbiterError, ErrorCodes, isArbiterError } from '../errors.js';
import {
  promptOf,
  requestTokens,
  requiredCapabilities,
  tokenAccounting,
  type ChatChunk,
  type ChatCompletion,
  type ChatRequest,
  type Upstream,
} from '../providers/index.js';
import type { Decision, Router } from '../router/index.js';
import { estimateTokens } from '../text.js';
import { callCost } from './generate.js';
import { errorCode, summarize, type OutcomeRecorder } from './outcome.js';

/** A chat request as clients send it: `model` is auto, auto:<strategy> or a configured id. */
export interface CompleteRequest extends ChatRequest {
  model: string;
  stream?: boolean;
}

export interface CompletionMeta {
  /** The request id (its outcome event's id). */
  id: string;
  /** The model that answered. */
  model: string;
  /** Why it was chosen. */
  reason: string;
  /** Models that failed before it, in order. */
  fallbacks: string[];
  /** Milliseconds spent in arbiter (routing; for JSON, everything but the upstream call). */
  overheadMs: number;
  /** `<experiment>/<arm>` when an experiment took the request. */
  experiment?: string;
}

export type Completion = CompletionMeta & { response: ChatCompletion };
/** A streamed completion; a pipeline's stream also carries progress chunks (no choices; `progress` set) between phases. */
export type CompletionStream = CompletionMeta & { chunks: AsyncIterable<ChatChunk> };

/** Model field: 'auto' | 'auto:<strategy>' | a configured id. */
export function parseModel(model: string, router: Router): { strategy?: Strategy; direct?: string } {
  if (model === 'auto') return {};
  if (model.startsWith('auto:')) {
    const s = model.slice(5);
    if (!(STRATEGIES as readonly string[]).includes(s) || s === 'custom')
      throw new ArbiterError(
        ErrorCodes.INVALID_REQUEST,
        `model must be auto, auto:quality, auto:cost, auto:latency, auto:balanced or a configured model id, got ${JSON.stringify(model)}`,
        { param: 'model' },
      );
    return { strategy: s as Strategy };
  }
  router.registry.get(model); // ARB_NOT_FOUND naming the configured ones
  return { direct: model };
}

export interface ExecContext {
  router: Router;
  upstreams: ReadonlyMap<string, Upstream>;
  /** Requirements `auto` routing must respect here (a pipeline phase's `route`). */
  route?: {
    qualityTarget?: number;
    minQuality?: number;
    maxCost?: number;
    maxLatencyMs?: number;
    allow?: string[];
  };
}

/** The models to try, in order, and why the first was chosen. Open breakers are left out of routing. */
async function plan(
  c: ExecContext,
  req: CompleteRequest,
  rec: OutcomeRecorder,
): Promise<{ models: string[]; reason: string }> {
  const pick = parseModel(req.model, c.router);
  if (pick.direct) return { models: [pick.direct], reason: `requested ${pick.direct}` };
  const cooling = [...c.upstreams].filter(([, u]) => !u.gate.available()).map(([id]) => id);
  // a request with tools, JSON output, images or audio (or a stream) routes only to models that take them
  const capabilities = requiredCapabilities(req);
  const { qualityTarget, ...required } = c.route ?? {};
  const constraints = {
    ...required,
    ...(cooling.length ? { deny: cooling } : {}),
    ...(capabilities.length ? { capabilities } : {}),
  };
  let d: Decision;
  try {
    d = await c.router.route(promptOf(req), {
      ...(pick.strategy ? { strategy: pick.strategy } : {}),
      ...(qualityTarget !== undefined ? { qualityTarget } : {}),
      ...((req.max_tokens ?? req.max_completion_tokens)
        ? { maxTokens: req.max_tokens ?? req.max_completion_tokens }
        : {}),
      ...(Object.keys(constraints).length ? { constraints } : {}),
    });
  } catch (e) {
    if (isArbiterError(e) && e.code === ErrorCodes.NO_ELIGIBLE_MODEL && cooling.length) {
      const wait = Math.min(...cooling.map((id) => c.upstreams.get(id)!.gate.cooldownLeftMs()));
      throw new ArbiterError(
        ErrorCodes.CIRCUIT_OPEN,
        `every eligible model is cooling down after failures (${cooling.join(', ')})`,
        { param: 'model', retryAfterMs: wait || 1000 },
      );
    }
    throw e;
  }
  rec.decision = summarize(d);
  return { models: [d.model, ...d.fallbacks], reason: d.reason };
}

function exhausted(models: readonly string[], failed: readonly string[], last: unknown): ArbiterError {
  const e = isArbiterError(last)
    ? last
    : new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'no model answered', { param: 'model' });
  return new ArbiterError(
    e.code,
    models.length > 1 ? `every model in the plan failed (${failed.join(', ')}); last: ${e.message}` : e.message,
    { param: 'model', ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) },
  );
}

/** Thrown when every model of the plan failed: the error, with the models given up on. */
export class PlanFailed extends ArbiterError {
  constructor(
    e: ArbiterError,
    readonly fallbacks: string[],
  ) {
    super(e.code, e.message, {
      param: 'model',
      ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
      cause: e.cause,
    });
  }
}

/**
 * Tries the plan's models in turn until `attempt` answers: a model whose breaker is open is
 * skipped, a failure is recorded and the next model tried; every model failing is PlanFailed.
 * `attempt` gets the models given up on so far and a release for the model's load slot, which it
 * may hold past its return (a stream holds it until it ends); on a failure the slot is released here.
 */
async function followPlan<T>(
  c: ExecContext,
  models: readonly string[],
  rec: OutcomeRecorder,
  signal: AbortSignal,
  attempt: (model: string, up: Upstream, release: () => void, failed: string[]) => Promise<T>,
): Promise<T> {
  const failed: string[] = [];
  let last: unknown;
  for (const model of models) {
    const up = c.upstreams.get(model)!;
    if (!up.gate.available()) {
      failed.push(model);
      rec.fellBack(model);
      last = new ArbiterError(ErrorCodes.CIRCUIT_OPEN, `${model}: circuit open`, {
        param: 'model',
        retryAfterMs: up.gate.cooldownLeftMs(),
      });
      continue;
    }
    const slot = c.router.load.acquire(model);
    let held = true;
    const release = () => {
      if (held) slot();
      held = false;
    };
    const t0 = performance.now();
    try {
      return await attempt(model, up, release, [...failed]);
    } catch (e) {
      release();
      const failure = { status: 'error' as const, code: errorCode(e), promptTokens: 0, completionTokens: 0, cost: 0 };
      rec.call({ model, ...failure, latencyMs: performance.now() - t0 });
      if (signal.aborted) throw e;
      failed.push(model);
      rec.fellBack(model);
      last = e;
    }
  }
  throw new PlanFailed(exhausted(models, failed, last), failed);
}

/** A JSON completion: route, then the plan's models in turn. */
export async function complete(
  c: ExecContext,
  req: CompleteRequest,
  rec: OutcomeRecorder,
  signal: AbortSignal,
): Promise<Completion> {
  const { model: _asked, stream: _stream, ...chat } = req;
  rec.prompt = promptOf(chat);
  const p = await plan(c, req, rec);
  return followPlan(c, p.models, rec, signal, async (model, up, release, fallbacks) => {
    const tUp = performance.now();
    const res = await up.gate.run(
      () => up.provider.complete(chat, { signal, timeoutMs: up.timeoutMs }),
      signal,
      tokenAccounting(chat),
    );
    release();
    const upstreamMs = performance.now() - tUp;
    const pt = res.usage?.prompt_tokens ?? estimateTokens(promptOf(chat));
    const ct = res.usage?.completion_tokens ?? estimateTokens(res.choices[0]?.message.content ?? '');
    const cost = callCost(c.router.registry.get(model), pt, ct);
    rec.call({
      model,
      status: 'ok',
      latencyMs: upstreamMs,
      promptTokens: pt,
      completionTokens: ct,
      cost,
      ...(res.usage ? {} : { estimated: true }),
    });
    rec.answer = res.choices[0]?.message.content ?? undefined;
    rec.finish({ model });
    return {
      id: rec.id,
      model,
      reason: p.reason,
      fallbacks,
      overheadMs: rec.elapsedMs - upstreamMs,
      response: { ...res, id: rec.id, model },
    };
  });
}

/** A streaming completion: the plan's models in turn until one sends its first chunk. */
export async function completeStream(
  c: ExecContext,
  req: CompleteRequest,
  rec: OutcomeRecorder,
  signal: AbortSignal,
): Promise<CompletionStream> {
  const { model: _asked, stream: _stream, ...chat } = req;
  rec.prompt = promptOf(chat);
  const p = await plan(c, req, rec);
  return followPlan(c, p.models, rec, signal, async (model, up, release, fallbacks) => {
    const tUp = performance.now();
    const opened = await up.gate.open(
      async () => {
        const chunks = up.provider.stream(chat, {
          signal,
          timeoutMs: up.timeoutMs,
          firstTokenMs: up.firstTokenMs,
          idleMs: up.streamIdleMs,
          totalMs: up.streamTotalMs,
        });
        const it = chunks[Symbol.asyncIterator]();
        const r = await it.next();
        if (r.done) throw new ArbiterError(ErrorCodes.UPSTREAM_ERROR, `${model}: empty stream`, { param: 'model' });
        return { it, first: r.value };
      },
      signal,
      { estimate: requestTokens(chat) },
    );
    const ttftMs = performance.now() - tUp;
    const overheadMs = tUp - (performance.now() - rec.elapsedMs);
    const done = () => {
      opened.release();
      release();
    };
    const chunks = relay(c, model, chat, opened.value, up, rec, tUp, ttftMs, done);
    return { id: rec.id, model, reason: p.reason, fallbacks, overheadMs, chunks };
  });
}

/**
 * The chunks of an opened stream, each with the answering model's id. A failure after the first
 * chunk counts against the model (its breaker) and surfaces as ARB_STREAM_INTERRUPTED. The slot
 * is released and the outcome emitted when the stream ends, breaks, or the consumer stops early.
 */
async function* relay(
  c: ExecContext,
  model: string,
  chat: ChatRequest,
  s: { it: AsyncIterator<ChatChunk>; first: ChatChunk },
  up: Upstream,
  rec: OutcomeRecorder,
  tUp: number,
  ttftMs: number,
  done: () => void,
): AsyncGenerator<ChatChunk> {
  const tally = new StreamTally(rec.id, model, chat.stream_options?.include_usage === true);
  let error: unknown;
  try {
    const first = tally.take(s.first);
    if (first) yield first;
    for (;;) {
      let r: IteratorResult<ChatChunk>;
      try {
        r = await s.it.next();
      } catch (e) {
        up.gate.reportLate();
        throw (error =
          isArbiterError(e) && e.code === ErrorCodes.STREAM_INTERRUPTED
            ? e
            : new ArbiterError(
                ErrorCodes.STREAM_INTERRUPTED,
                `${model}: the stream broke after it started: ${(e as Error).message}`,
                { param: 'model' },
              ));
      }
      if (r.done) break;
      const ch = tally.take(r.value);
      if (ch) yield ch;
    }
    const usageChunk = tally.missingUsage(estimateTokens(promptOf(chat)));
    if (usageChunk) yield usageChunk;
  } finally {
    if (error === undefined) void s.it.return?.();
    done();
    const usage = tally.usage;
    const pt = usage?.prompt_tokens ?? estimateTokens(promptOf(chat));
    const ct = usage?.completion_tokens ?? estimateTokens(tally.all);
    rec.call({
      model,
      status: error === undefined ? 'ok' : 'error',
      ...(error !== undefined ? { code: errorCode(error) } : {}),
      latencyMs: performance.now() - tUp,
      ttftMs,
      promptTokens: pt,
      completionTokens: ct,
      cost: callCost(c.router.registry.get(model), pt, ct),
      ...(usage ? {} : { estimated: true }),
    });
    rec.answer = tally.text;
    rec.finish({ model, ...(error !== undefined ? { error } : {}) });
  }
}

/**
 * A relayed stream's bookkeeping: each chunk under the request's id and the answering model; the
 * first choice's text (the recorded answer) and every choice's (the token estimate); the usage
 * chunk passed on exactly when the client asked for it (include_usage) — the upstream is always
 * asked, for accounting — and made from the lengths when the client asked and the upstream sent none.
 */
class StreamTally {
  text = '';
  all = '';
  usage: ChatChunk['usage'];
  private created = 0;

  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly wantUsage: boolean,
  ) {}

  /** The chunk to send on (undefined: a usage-only chunk the client did not ask for). */
  take(upstream: ChatChunk): ChatChunk | undefined {
    // `progress` is arbiter's own (pipeline progress, sent as a comment): never an upstream's
    const { progress: _p, ...ch } = upstream;
    this.created ||= ch.created;
    for (const c of ch.choices ?? []) {
      const piece = c?.delta?.content ?? '';
      if (c?.index === 0 || c?.index === undefined) this.text += piece;
      this.all += piece;
    }
    if (ch.usage) this.usage = ch.usage;
    if (!this.wantUsage && ch.usage) {
      if (!ch.choices?.length) return undefined;
      const { usage: _u, ...rest } = ch;
      return { ...rest, id: this.id, model: this.model };
    }
    return { ...ch, id: this.id, model: this.model };
  }

  /** The usage chunk the client asked for and the upstream did not send, estimated; else undefined. */
  missingUsage(promptTokens: number): ChatChunk | undefined {
    if (!this.wantUsage || this.usage) return undefined;
    const ct = estimateTokens(this.all);
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created || Math.floor(Date.now() / 1000),
      model: this.model,
      choices: [],
      usage: { prompt_tokens: promptTokens, completion_tokens: ct, total_tokens: promptTokens + ct },
    };
  }
}
