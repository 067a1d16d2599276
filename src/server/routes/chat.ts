/** POST /v1/chat/completions: the engine's complete (JSON or SSE) or, with `arbiter: {…}`, its decode. */
import type { FastifyInstance, FastifyReply } from 'fastify';

import { chatRequestSchema, KNOWN_CHAT_FIELDS, toDecodeOptions, type ArbiterOption } from '../../config/index.js';
import {
  parseModel,
  PlanFailed,
  type Arbiter,
  type CompleteRequest,
  type DecodeOutcome,
  type PipelineCompletion,
} from '../../engine/index.js';
import { ArbiterError, ErrorCodes } from '../../errors.js';
import type { ChatRequest } from '../../providers/index.js';
import type { EngineHost } from '../host.js';
import { sendStream } from '../sse.js';

/** Header values must be Latin-1: anything else becomes '?'; newlines never pass. */
/** A header value: printable ASCII kept, everything else (and %) percent-encoded as UTF-8 — decodeURIComponent reads it back. */
export const headerSafe = (s: string) =>
  s
    .slice(0, 1000)
    .replace(/[^\x20-\x7e]|%/gu, (c) => encodeURIComponent(c))
    .replace(/%(?![0-9A-F]{2})/g, '%25');

export function chatRoutes(app: FastifyInstance, host: EngineHost): void {
  app.post(
    '/v1/chat/completions',
    { onRequest: app.requireRole('client'), schema: { body: chatRequestSchema } },
    async (req, reply) => {
      const engine = host.current;
      if (engine.config.gateway?.unknownFields === 'reject')
        for (const k of Object.keys(req.body as object))
          if (!KNOWN_CHAT_FIELDS.has(k))
            throw new ArbiterError(
              ErrorCodes.INVALID_REQUEST,
              `${k} is not a chat request field arbiter knows (gateway.unknownFields: reject; set pass to forward it)`,
              { param: k },
            );
      const { arbiter: decoding, ...body } = req.body as CompleteRequest & { arbiter?: ArbiterOption };
      const ctl = new AbortController();
      const who = {
        ...(req.caller?.keyId ? { keyId: req.caller.keyId } : {}),
        headers: req.headers as Record<string, string | undefined>,
      };
      // the response closing before it finished means the client went away: stop the upstream calls
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) ctl.abort(new Error('client went away'));
      });
      if (decoding) {
        const pick = parseModel(body.model, engine.router);
        if (body.stream)
          throw new ArbiterError(
            ErrorCodes.INVALID_REQUEST,
            `arbiter.strategy ${JSON.stringify(decoding.strategy)} chooses among whole responses: stream must be false`,
            { param: 'stream' },
          );
        const { model: _m, stream: _s, ...chat } = body;
        return decodeChat(
          engine,
          chat,
          pick.direct && !decoding.models ? { ...decoding, models: [pick.direct] } : decoding,
          reply,
          ctl.signal,
          who,
        );
      }
      try {
        if (!body.stream) {
          const r = await engine.complete({ ...body, stream: false }, { signal: ctl.signal, ...who });
          void reply.headers({
            'x-arbiter-model': r.model,
            'x-arbiter-reason': headerSafe(r.reason),
            'x-arbiter-fallbacks': r.fallbacks.join(','),
            'x-arbiter-overhead-ms': r.overheadMs.toFixed(3),
            'x-request-id': r.id,
            ...(r.experiment ? { 'x-arbiter-experiment': r.experiment } : {}),
          });
          // a pipeline's run beside the answer, when asked (x-arbiter-phases: true)
          const run = (r as Partial<PipelineCompletion>).pipeline;
          if (run && req.headers['x-arbiter-phases'] === 'true') return { ...r.response, arbiter: { pipeline: run } };
          return r.response;
        }
        const s = await engine.complete({ ...body, stream: true }, { signal: ctl.signal, ...who });
        await sendStream(reply, s.chunks, {
          'x-arbiter-model': s.model,
          'x-arbiter-reason': headerSafe(s.reason),
          'x-arbiter-fallbacks': s.fallbacks.join(','),
          'x-arbiter-overhead-ms': s.overheadMs.toFixed(3),
          'x-request-id': s.id,
          ...(s.experiment ? { 'x-arbiter-experiment': s.experiment } : {}),
        });
        return reply;
      } catch (e) {
        if (e instanceof PlanFailed) void reply.header('x-arbiter-fallbacks', e.fallbacks.join(','));
        throw e;
      }
    },
  );
}

/**
 * A request with `arbiter: {strategy, …}`: the chosen answer as an ordinary completion, with the
 * strategy, the number of calls and the total cost in headers, and the scored candidates when asked.
 */
async function decodeChat(
  engine: Arbiter,
  chat: ChatRequest,
  o: ArbiterOption,
  reply: FastifyReply,
  signal: AbortSignal,
  who: { keyId?: string },
) {
  const t0 = performance.now();
  const r: DecodeOutcome & { id: string } = await engine.decode(chat, toDecodeOptions(o), { signal, ...who });
  void reply.headers({
    'x-arbiter-model': r.model,
    'x-arbiter-strategy': r.strategy,
    'x-arbiter-calls': String(r.calls),
    'x-arbiter-cost': r.cost.toPrecision(4),
    'x-arbiter-stop': r.stop,
    'x-arbiter-fallbacks': [...new Set(r.failures.map((f) => f.model))].join(','),
    'x-arbiter-overhead-ms': (performance.now() - t0).toFixed(3),
    'x-request-id': r.id,
  });
  const base = r.response ?? {
    id: `arbiter-${Date.now().toString(36)}`,
    object: 'chat.completion' as const,
    created: Math.floor(Date.now() / 1000),
    model: r.model,
    choices: [],
  };
  return {
    ...base,
    id: r.id,
    model: r.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: r.content },
        finish_reason: r.candidates[r.chosen]?.finishReason ?? 'stop',
      },
    ],
    usage: r.usage, // every call the request made, not only the chosen one's
    ...(o.include_candidates ? { arbiter: candidatesReport(r) } : {}),
  };
}

function candidatesReport(r: DecodeOutcome) {
  return {
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
  };
}
