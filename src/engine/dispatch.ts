/**
 * What runs a request, by what its model names once experiments and the matcher have had their
 * say: a configured model or `auto[:<strategy>]` (route, then the plan's models); `pipeline:<id>`
 * (a pipeline run); `decode:<strategy>` (a reward-guided decoding strategy — whole answers, so a
 * stream of one is sent when it is chosen); `router:<experiment>/<arm>` (routed by an experiment
 * arm's trained router instead of the engine's). Each gives a JSON and a streamed form; the engine
 * keeps the bookkeeping (in flight, the outcome on failure).
 */
import type { ArbiterConfig } from '../config/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ChatChunk, Upstream } from '../providers/index.js';
import type { Rewards } from '../decoding/index.js';
import type { Router } from '../router/index.js';
import { complete, completeStream, type CompleteRequest, type Completion, type CompletionStream } from './complete.js';
import { decodeRequest } from './decode.js';
import type { OutcomeRecorder } from './outcome.js';
import { completePipeline, findPipeline, streamPipeline } from './pipeline-complete.js';

export interface DispatchContext {
  router: Router;
  upstreams: ReadonlyMap<string, Upstream>;
  rewards: Rewards;
  config: ArbiterConfig;
  pipelineCache: Map<string, { output: string; model: string }>;
  /** Experiment arms' trained routers, by `<experiment>/<arm>`. */
  armRouters: ReadonlyMap<string, Router>;
}

export interface Execution {
  json: () => Promise<Completion>;
  stream: () => Promise<CompletionStream>;
}

export function execution(
  c: DispatchContext,
  req: CompleteRequest,
  rec: OutcomeRecorder,
  signal: AbortSignal,
): Execution {
  if (req.model.startsWith('pipeline:')) {
    rec.kind = 'pipeline';
    const ctx = { router: c.router, upstreams: c.upstreams, cache: c.pipelineCache, rewards: c.rewards.outcome };
    const pl = findPipeline(c.config.pipelines, req.model);
    return {
      json: () => completePipeline(ctx, pl, req, rec, signal),
      stream: async () => streamPipeline(ctx, pl, req, rec, signal),
    };
  }
  if (req.model.startsWith('decode:')) {
    rec.kind = 'decode';
    const json = () => decodeAsCompletion(c, req, rec, signal);
    return { json, stream: async () => asStream(await json()) };
  }
  if (req.model.startsWith('router:')) {
    const router = c.armRouters.get(req.model.slice('router:'.length));
    if (!router)
      throw new ArbiterError(ErrorCodes.NOT_FOUND, `no experiment arm router ${JSON.stringify(req.model)}`, {
        param: 'model',
      });
    const ctx = { router, upstreams: c.upstreams };
    const auto = { ...req, model: 'auto' };
    return { json: () => complete(ctx, auto, rec, signal), stream: () => completeStream(ctx, auto, rec, signal) };
  }
  return { json: () => complete(c, req, rec, signal), stream: () => completeStream(c, req, rec, signal) };
}

/** A decoding strategy's chosen answer as an ordinary completion (usage: every call's). */
async function decodeAsCompletion(
  c: DispatchContext,
  req: CompleteRequest,
  rec: OutcomeRecorder,
  signal: AbortSignal,
): Promise<Completion> {
  const { model, stream: _s, ...chat } = req;
  const strategy = model.slice('decode:'.length);
  const r = await decodeRequest(
    { router: c.router, upstreams: c.upstreams, rewards: c.rewards, defaults: c.config.decoding, recorder: rec },
    chat,
    { strategy } as Parameters<typeof decodeRequest>[2],
    signal,
  );
  rec.answer = r.content;
  rec.finish({ model: r.model });
  const created = r.response?.created ?? Math.floor(Date.now() / 1000);
  return {
    id: rec.id,
    model: r.model,
    reason: `decoding ${r.strategy}: ${r.calls} calls, chose ${r.model}; ${r.decision.reason}`,
    fallbacks: [...new Set(r.failures.map((f) => f.model))],
    overheadMs: 0,
    response: {
      id: rec.id,
      object: 'chat.completion',
      created,
      model: r.model,
      choices: [{ index: 0, message: { role: 'assistant', content: r.content }, finish_reason: 'stop' }],
      usage: r.usage,
    },
  };
}

/** A completion as the stream of it: its text in one chunk, then the finish. */
function asStream(r: Completion): CompletionStream {
  const base = { id: r.id, object: 'chat.completion.chunk' as const, created: r.response.created, model: r.model };
  const content = r.response.choices[0]?.message.content ?? '';
  async function* chunks(): AsyncGenerator<ChatChunk> {
    yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content }, finish_reason: null }] };
    yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
  }
  const { response: _r, ...meta } = r;
  return { ...meta, chunks: chunks() };
}
