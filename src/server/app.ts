/**
 * The HTTP gateway (Fastify): an OpenAI-compatible chat endpoint that routes `model: "auto"` (or
 * `auto:<strategy>`) through the router and calls the chosen model, falling back along the
 * decision's plan; decisions alone on /v1/route (micro-batched) and /v1/route/batch; the model
 * list; health; Prometheus metrics; admin-only feedback and reload.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import { decodeRequest, defaultRewards, type DecodeStrategy, type Rewards, type Router } from '../engine/index.js';
import { ArbiterError, ErrorCodes, isArbiterError } from '../errors.js';
import { STRATEGIES, type Strategy } from '../models/index.js';
import { promptOf, requestTokens, tokenAccounting, type ChatChunk, type ChatRequest, type Upstream } from '../providers/index.js';
import type { Decision, RouteOptions } from '../router/index.js';
import { chatSchema, feedbackSchema, routeBatchSchema, routeSchema } from './schemas.js';

export interface GatewayState {
  router: Router;
  upstreams: Map<string, Upstream>;
  /** Rewards the `arbiter` option may name (the verifier at least). */
  rewards: Rewards;
}

export interface GatewayOptions extends Omit<GatewayState, 'rewards'> {
  /** Default: the verifier only. */
  rewards?: Rewards;
  /** The compute backend's name, for /health. */
  backend: string;
  /** Bearer keys; when neither list has a key, the API is open (bind to 127.0.0.1). */
  auth?: { clientKeys: string[]; adminKeys: string[] };
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** /v1/route micro-batching: the window and the most prompts per batch. */
  batchWindowMs?: number;
  maxBatch?: number;
  /** Rebuilds router and upstreams from the config (POST /admin/reload). */
  reload?: () => Promise<Omit<GatewayState, 'rewards'> & { rewards?: Rewards }>;
  logger?: boolean;
}

const STATUS: Partial<Record<string, number>> = {
  [ErrorCodes.INVALID_ARGUMENT]: 400,
  [ErrorCodes.INVALID_REQUEST]: 400,
  [ErrorCodes.DIMENSION_MISMATCH]: 400,
  [ErrorCodes.NOT_FINITE]: 400,
  [ErrorCodes.OUT_OF_RANGE]: 400,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCodes.NO_ELIGIBLE_MODEL]: 422,
  [ErrorCodes.BUDGET_EXCEEDED]: 422,
  [ErrorCodes.INVALID_CONFIG]: 422,
  [ErrorCodes.RATE_LIMITED]: 429,
  [ErrorCodes.UPSTREAM_ERROR]: 502,
  [ErrorCodes.CIRCUIT_OPEN]: 503,
  [ErrorCodes.UPSTREAM_TIMEOUT]: 504,
};

/** Header values must be Latin-1: anything else becomes '?'; newlines never pass. */
const headerSafe = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 1000);

function errorBody(e: ArbiterError) {
  return { error: { code: e.code, message: e.message, ...(e.param ? { param: e.param } : {}) } };
}

/** Model field: 'auto' | 'auto:<strategy>' | a configured id. */
function parseModel(model: string, router: Router): { strategy?: Strategy; direct?: string } {
  if (model === 'auto') return {};
  if (model.startsWith('auto:')) {
    const s = model.slice(5);
    if (!(STRATEGIES as readonly string[]).includes(s) || s === 'custom')
      throw new ArbiterError(ErrorCodes.INVALID_REQUEST, `model must be auto, auto:quality, auto:cost, auto:latency, auto:balanced or a configured model id, got ${JSON.stringify(model)}`, { param: 'model' });
    return { strategy: s as Strategy };
  }
  router.registry.get(model); // ARB_NOT_FOUND naming the configured ones
  return { direct: model };
}

export async function buildGateway(o: GatewayOptions): Promise<FastifyInstance> {
  let state: GatewayState = { router: o.router, upstreams: o.upstreams, rewards: o.rewards ?? defaultRewards() };
  const app = Fastify({
    bodyLimit: o.bodyLimit ?? 1 << 20,
    // on close: idle keep-alive connections are closed at once, busy ones after their response
    forceCloseConnections: 'idle',
    logger: o.logger ? { redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] } : false,
    // schema-validated bodies: extra keys are errors, nothing is coerced
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
  });

  // ---- metrics ----
  const registry = new Registry();
  const requests = new Counter({ name: 'arbiter_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [registry] });
  const duration = new Histogram({ name: 'arbiter_request_duration_seconds', help: 'HTTP request latency', labelNames: ['route'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] });
  const selections = new Counter({ name: 'arbiter_selections_total', help: 'Models that answered chat requests', labelNames: ['model'], registers: [registry] });
  const fallbacks = new Counter({ name: 'arbiter_fallbacks_total', help: 'Models given up on before another answered (or all failed)', labelNames: ['model', 'code'], registers: [registry] });
  new Gauge({
    name: 'arbiter_breaker_open',
    help: 'Circuit breaker per model: 0 closed, 1 open, 0.5 half-open',
    labelNames: ['model'],
    registers: [registry],
    collect() {
      for (const [id, u] of state.upstreams) this.set({ model: id }, { closed: 0, open: 1, 'half-open': 0.5 }[u.gate.breaker()]);
    },
  });
  new Gauge({
    name: 'arbiter_queue_depth',
    help: 'Calls waiting for a slot, per model',
    labelNames: ['model'],
    registers: [registry],
    collect() {
      for (const [id, u] of state.upstreams) this.set({ model: id }, u.gate.queued);
    },
  });
  new Gauge({
    name: 'arbiter_in_flight',
    help: 'Calls in flight, per model',
    labelNames: ['model'],
    registers: [registry],
    collect() {
      for (const [id, u] of state.upstreams) this.set({ model: id }, u.gate.inFlight);
    },
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    requests.inc({ route, status: String(reply.statusCode) });
    duration.observe({ route }, reply.elapsedTime / 1000);
  });

  // ---- errors: one shape, stable codes ----
  app.setErrorHandler((err: unknown, _req, reply) => {
    let e: ArbiterError;
    const fe = err as { validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>; code?: string; statusCode?: number; message?: string };
    if (isArbiterError(err)) e = err;
    else if (fe.validation) {
      const v = fe.validation[0];
      const path = `${(v?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.')}${v?.params?.additionalProperty ? `${v.instancePath ? '.' : ''}${String(v.params.additionalProperty)}` : ''}${v?.params?.missingProperty ? `${v.instancePath ? '.' : ''}${String(v.params.missingProperty)}` : ''}`;
      e = new ArbiterError(ErrorCodes.INVALID_REQUEST, `${path || 'body'} ${v?.message ?? 'is invalid'}`, { param: path || 'body' });
    } else if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') e = new ArbiterError(ErrorCodes.PAYLOAD_TOO_LARGE, `request body larger than ${o.bodyLimit ?? 1 << 20} bytes`, { param: 'body' });
    else if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) e = new ArbiterError(ErrorCodes.INVALID_REQUEST, fe.message ?? 'bad request', { param: 'body' });
    else {
      app.log.error(err);
      e = new ArbiterError(ErrorCodes.NATIVE_ERROR, 'internal error', {});
    }
    const status = fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : (STATUS[e.code] ?? (isArbiterError(err) ? 500 : (fe.statusCode ?? 500)));
    if (e.retryAfterMs !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(e.retryAfterMs / 1000))));
    void reply.code(status).send(errorBody(e));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody(new ArbiterError(ErrorCodes.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`, { param: 'url' })));
  });

  // ---- auth ----
  const clientKeys = new Set(o.auth?.clientKeys ?? []);
  const adminKeys = new Set(o.auth?.adminKeys ?? []);
  const open = clientKeys.size === 0 && adminKeys.size === 0;
  const role = (req: FastifyRequest): 'admin' | 'client' | null => {
    const h = req.headers.authorization;
    const key = typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
    if (key && adminKeys.has(key)) return 'admin';
    if (key && clientKeys.has(key)) return 'client';
    return null;
  };
  const requireRole = (need: 'client' | 'admin') => async (req: FastifyRequest) => {
    if (open && need === 'client') return;
    const r = role(req);
    if (!r) throw new ArbiterError(ErrorCodes.UNAUTHORIZED, 'missing or unknown API key (Authorization: Bearer <key>)', { param: 'authorization' });
    if (need === 'admin' && r !== 'admin') throw new ArbiterError(ErrorCodes.FORBIDDEN, 'this endpoint needs an admin key', { param: 'authorization' });
  };
  const client = { onRequest: requireRole('client') };
  const admin = { onRequest: requireRole('admin') };

  // ---- /v1/route, micro-batched ----
  const batchWindowMs = o.batchWindowMs ?? 0; // 0: what arrived in the same event-loop turn
  const maxBatch = o.maxBatch ?? 64;
  const pending = new Map<string, { prompts: string[]; options: RouteOptions | undefined; waiters: Array<{ resolve: (d: Decision) => void; reject: (e: unknown) => void }>; timer: NodeJS.Timeout }>();
  const flush = (key: string) => {
    const b = pending.get(key);
    if (!b) return;
    pending.delete(key);
    if (batchWindowMs > 0) clearTimeout(b.timer);
    else clearImmediate(b.timer as unknown as NodeJS.Immediate);
    state.router.routeBatch(b.prompts, b.options).then(
      (ds) => ds.forEach((d, i) => b.waiters[i]!.resolve(d)),
      (e: unknown) => b.waiters.forEach((w) => w.reject(e)),
    );
  };
  const routeOne = (prompt: string, options: RouteOptions | undefined) =>
    new Promise<Decision>((resolve, reject) => {
      const key = JSON.stringify(options ?? null);
      let b = pending.get(key);
      if (!b) {
        b = { prompts: [], options, waiters: [], timer: batchWindowMs > 0 ? setTimeout(() => flush(key), batchWindowMs) : (setImmediate(() => flush(key)) as unknown as NodeJS.Timeout) };
        pending.set(key, b);
      }
      b.prompts.push(prompt);
      b.waiters.push({ resolve, reject });
      if (b.prompts.length >= maxBatch) flush(key);
    });

  app.post('/v1/route', { ...client, schema: { body: routeSchema } }, async (req) => {
    const { prompt, options } = req.body as { prompt: string; options?: RouteOptions };
    return routeOne(prompt, options);
  });
  app.post('/v1/route/batch', { ...client, schema: { body: routeBatchSchema } }, async (req) => {
    const { prompts, options } = req.body as { prompts: string[]; options?: RouteOptions };
    return { decisions: await state.router.routeBatch(prompts, options) };
  });

  // ---- models, health, metrics ----
  app.get('/v1/models', client, async () => ({
    object: 'list',
    data: [
      ...['auto', 'auto:quality', 'auto:cost', 'auto:latency', 'auto:balanced'].map((id) => ({ id, object: 'model', owned_by: 'arbiter' })),
      ...state.router.registry.ids().map((id) => ({ id, object: 'model', owned_by: state.router.registry.get(id).provider.kind })),
    ],
  }));
  app.get('/health', async () => ({
    status: 'ok',
    backend: o.backend,
    models: [...state.upstreams].map(([id, u]) => {
      const b = u.gate.breaker();
      return { id, state: b === 'open' ? 'cooling down' : b === 'half-open' ? 'half-open' : u.gate.saturated ? 'saturated' : u.gate.rateLimited ? 'rate limited' : 'healthy', inFlight: u.gate.inFlight, queued: u.gate.queued, ...(b === 'open' ? { retryInMs: u.gate.cooldownLeftMs() } : {}) };
    }),
  }));
  app.get('/metrics', client, async (_req, reply) => {
    void reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  // ---- admin ----
  app.post('/v1/feedback', { ...admin, schema: { body: feedbackSchema } }, async (req) => {
    const { prompt, model, quality, task } = req.body as { prompt: string; model: string; quality: number; task?: string };
    const r = await state.router.feedback({ prompt, model, quality, ...(task ? { task } : {}) });
    return { merged: r.merged, learnedCapability: r.capability ?? null };
  });
  app.post('/admin/reload', admin, async () => {
    if (!o.reload) throw new ArbiterError(ErrorCodes.UNSUPPORTED, 'this server was started without a config file to reload', {});
    const next = await o.reload();
    state = { ...next, rewards: next.rewards ?? defaultRewards() }; // in-flight requests keep the state they started with
    return { reloaded: true, models: state.router.registry.ids() };
  });

  // ---- chat completions ----
  app.post('/v1/chat/completions', { ...client, schema: { body: chatSchema } }, async (req, reply) => {
    const t0 = performance.now();
    const s = state;
    const body = req.body as ChatRequest & { model: string; stream?: boolean; arbiter?: ArbiterOption };
    const { model: asked, stream, arbiter: decoding, ...rest } = body;
    const chat: ChatRequest = rest;
    const pick = parseModel(asked, s.router);
    const prompt = promptOf(chat);
    const ctl = new AbortController();
    // the response closing before it finished means the client went away: stop the upstream calls
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) ctl.abort(new Error('client went away'));
    });
    if (decoding) {
      if (stream) throw new ArbiterError(ErrorCodes.INVALID_REQUEST, `arbiter.strategy ${JSON.stringify(decoding.strategy)} chooses among whole responses: stream must be false`, { param: 'stream' });
      if (pick.direct && !decoding.models) decoding.models = [pick.direct];
      return decodeChat(s, chat, decoding, reply, t0, selections, ctl.signal);
    }
    let plan: string[];
    let reason: string;
    if (pick.direct) {
      plan = [pick.direct];
      reason = `requested ${pick.direct}`;
    } else {
      // models whose breaker is open are left out of the plan (their cool-down is respected)
      const cooling = [...s.upstreams].filter(([, u]) => !u.gate.available()).map(([id]) => id);
      let d: Decision;
      try {
        d = await s.router.route(prompt, { ...(pick.strategy ? { strategy: pick.strategy } : {}), ...(chat.max_tokens ? { maxTokens: chat.max_tokens } : {}), ...(cooling.length ? { constraints: { deny: cooling } } : {}) });
      } catch (e) {
        if (isArbiterError(e) && e.code === ErrorCodes.NO_ELIGIBLE_MODEL && cooling.length) {
          const wait = Math.min(...cooling.map((id) => s.upstreams.get(id)!.gate.cooldownLeftMs()));
          throw new ArbiterError(ErrorCodes.CIRCUIT_OPEN, `every eligible model is cooling down after failures (${cooling.join(', ')})`, { param: 'model', retryAfterMs: wait || 1000 });
        }
        throw e;
      }
      plan = [d.model, ...d.fallbacks];
      reason = d.reason;
    }
    const failed: string[] = [];
    let last: unknown;
    for (const model of plan) {
      const up = s.upstreams.get(model)!;
      if (!up.gate.available()) {
        failed.push(model);
        last = new ArbiterError(ErrorCodes.CIRCUIT_OPEN, `${model}: circuit open`, { param: 'model', retryAfterMs: up.gate.cooldownLeftMs() });
        continue;
      }
      const release = s.router.load.acquire(model);
      try {
        const tUp = performance.now();
        if (!stream) {
          const res = await up.gate.run(() => up.provider.complete(chat, { signal: ctl.signal, timeoutMs: up.timeoutMs }), ctl.signal, tokenAccounting(chat));
          const upstreamMs = performance.now() - tUp;
          selections.inc({ model });
          void reply.headers({
            'x-arbiter-model': model,
            'x-arbiter-reason': headerSafe(reason),
            'x-arbiter-fallbacks': failed.join(','),
            'x-arbiter-overhead-ms': (performance.now() - t0 - upstreamMs).toFixed(3),
          });
          return { ...res, model };
        }
        // streaming: the first chunk decides whether this model answers; a failure before it falls back
        // the slot is held until the stream ends, so maxConcurrent counts streams in progress
        const opened = await up.gate.open(async () => {
          const it = up.provider.stream(chat, { signal: ctl.signal, timeoutMs: up.timeoutMs, firstTokenMs: up.firstTokenMs })[Symbol.asyncIterator]();
          const r = await it.next();
          if (r.done) throw new ArbiterError(ErrorCodes.UPSTREAM_ERROR, `${model}: empty stream`, { param: 'model' });
          return { it, first: r.value };
        }, ctl.signal, { estimate: requestTokens(chat) });
        selections.inc({ model });
        try {
          await sendStream(reply, opened.value.it, opened.value.first, model, {
            'x-arbiter-model': model,
            'x-arbiter-reason': headerSafe(reason),
            'x-arbiter-fallbacks': failed.join(','),
            'x-arbiter-overhead-ms': (tUp - t0).toFixed(3), // routing, before the upstream call
          }, () => up.gate.reportLate());
        } finally {
          opened.release();
        }
        return reply;
      } catch (e) {
        if (ctl.signal.aborted) throw e;
        failed.push(model);
        last = e;
        fallbacks.inc({ model, code: isArbiterError(e) ? e.code : 'unknown' });
      } finally {
        release();
      }
    }
    const e = isArbiterError(last) ? last : new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'no model answered', { param: 'model' });
    void reply.header('x-arbiter-fallbacks', failed.join(','));
    throw new ArbiterError(e.code, plan.length > 1 ? `every model in the plan failed (${failed.join(', ')}); last: ${e.message}` : e.message, { param: 'model', ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) });
  });

  return app;
}

/** The `arbiter` request option, as the schema admits it. */
interface ArbiterOption {
  strategy: DecodeStrategy;
  n?: number;
  models?: string[];
  reward?: string;
  budget?: number;
  deadline_ms?: number;
  threshold?: number;
  quality_target?: number;
  answer?: 'choice' | 'number' | 'text';
  weighting?: 'reliability' | 'equal';
  beam_width?: number;
  expansions?: number;
  max_steps?: number;
  diverse?: boolean;
  diversity?: number;
  include_candidates?: boolean;
}

/**
 * A request with `arbiter: {strategy, …}`: the decoding strategy runs (several calls, each through
 * its model's gate); the chosen answer comes back as an ordinary completion, with the strategy,
 * the number of calls and the total cost in headers, and the scored candidates when asked.
 */
async function decodeChat(s: GatewayState, chat: ChatRequest, o: ArbiterOption, reply: FastifyReply, t0: number, selections: Counter<'model'>, signal: AbortSignal) {
  // the schema admitted only known keys: rename the snake_case ones, pass the rest as they are
  const { include_candidates: _ic, deadline_ms: deadlineMs, quality_target: qualityTarget, beam_width: beamWidth, max_steps: maxSteps, ...same } = o;
  const r = await decodeRequest(s.router, s.upstreams, s.rewards, chat, { ...same, deadlineMs, qualityTarget, beamWidth, maxSteps }, signal);
  selections.inc({ model: r.model });
  void reply.headers({
    'x-arbiter-model': r.model,
    'x-arbiter-strategy': r.strategy,
    'x-arbiter-calls': String(r.calls),
    'x-arbiter-cost': r.cost.toPrecision(4),
    'x-arbiter-stop': r.stop,
    'x-arbiter-fallbacks': [...new Set(r.failures.map((f) => f.model))].join(','),
    'x-arbiter-overhead-ms': (performance.now() - t0).toFixed(3),
  });
  const base = r.response ?? { id: `arbiter-${Date.now().toString(36)}`, object: 'chat.completion' as const, created: Math.floor(Date.now() / 1000), model: r.model, choices: [] };
  return {
    ...base,
    model: r.model,
    choices: [{ index: 0, message: { role: 'assistant' as const, content: r.content }, finish_reason: r.candidates[r.chosen]?.finishReason ?? 'stop' }],
    usage: r.usage, // every call the request made, not only the chosen one's
    ...(o.include_candidates
      ? {
          arbiter: {
            strategy: r.strategy,
            task: r.decision.task.label,
            answerKind: r.answerKind,
            failures: r.failures,
            calls: r.calls,
            cost: r.cost,
            tokens: r.tokens,
            stop: r.stop,
            chosen: r.chosen,
            ...(r.tally ? { tally: r.tally } : {}),
            ...(r.stage !== undefined ? { stage: r.stage } : {}),
            ...(r.steps ? { steps: r.steps } : {}),
            candidates: r.candidates,
          },
        }
      : {}),
  };
}

/** Writes an SSE response: the first chunk, the rest, then [DONE] — or an error event, never a clean finish, if the stream breaks. */
async function sendStream(reply: FastifyReply, it: AsyncIterator<ChatChunk>, first: ChatChunk, model: string, headers: Record<string, string>, onLateFailure: () => void): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
  const write = (data: string) =>
    new Promise<void>((resolve) => {
      if (res.destroyed) return resolve();
      if (res.write(`data: ${data}\n\n`)) resolve();
      else res.once('drain', resolve);
    });
  await write(JSON.stringify({ ...first, model }));
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      await write(JSON.stringify({ ...r.value, model }));
    }
    await write('[DONE]');
  } catch (e) {
    onLateFailure();
    const err = isArbiterError(e) && e.code === ErrorCodes.STREAM_INTERRUPTED ? e : new ArbiterError(ErrorCodes.STREAM_INTERRUPTED, `${model}: the stream broke after it started: ${(e as Error).message}`, { param: 'model' });
    await write(JSON.stringify(errorBody(err)));
  } finally {
    res.end();
  }
}
