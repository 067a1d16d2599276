/**
 * POST /v1/completions: the legacy text-completions API, served through the chat models — each
 * prompt becomes one user message, routed and called as a chat request (fallbacks, recording,
 * capabilities and all), and the answer is reshaped as a `text_completion`. Several prompts are
 * answered concurrently, their choices numbered in prompt order. Fields with no chat equivalent
 * (echo, suffix, logprobs, best_of > 1) are refused by name.
 */
import type { FastifyInstance } from 'fastify';

import { completionRequestSchema } from '../../config/index.js';
import type { Completion } from '../../engine/index.js';
import { ArbiterError, ErrorCodes } from '../../errors.js';
import type { ChatChunk } from '../../providers/index.js';
import type { EngineHost } from '../host.js';
import { sendStream } from '../sse.js';
import { headerSafe } from './chat.js';

interface CompletionBody {
  model: string;
  prompt: string | string[];
  stream?: boolean;
  n?: number;
  echo?: unknown;
  suffix?: unknown;
  logprobs?: unknown;
  best_of?: unknown;
  [key: string]: unknown;
}

export function completionRoutes(app: FastifyInstance, host: EngineHost): void {
  app.post(
    '/v1/completions',
    { onRequest: app.requireRole('client'), schema: { body: completionRequestSchema } },
    async (req, reply) => {
      const engine = host.current;
      const { prompt, echo: _e, suffix: _s, logprobs: _l, best_of: _b, ...rest } = req.body as CompletionBody;
      const prompts = typeof prompt === 'string' ? [prompt] : prompt;
      const who = req.caller?.keyId ? { keyId: req.caller.keyId } : {};
      const ctl = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) ctl.abort(new Error('client went away'));
      });
      const chat = (p: string) => ({ ...rest, messages: [{ role: 'user' as const, content: p }] });
      if (rest.stream) {
        if (prompts.length > 1)
          throw new ArbiterError(ErrorCodes.INVALID_REQUEST, 'stream takes one prompt (send the others separately)', {
            param: 'prompt',
          });
        const s = await engine.complete({ ...chat(prompts[0]!), stream: true }, { signal: ctl.signal, ...who });
        await sendStream(reply, asText(s.chunks), {
          'x-arbiter-model': s.model,
          'x-arbiter-reason': headerSafe(s.reason),
          'x-arbiter-fallbacks': s.fallbacks.join(','),
          'x-request-id': s.id,
        });
        return reply;
      }
      const done: Completion[] = await Promise.all(
        prompts.map((p) => engine.complete({ ...chat(p), stream: false }, { signal: ctl.signal, ...who })),
      );
      const first = done[0]!;
      void reply.headers({
        'x-arbiter-model': [...new Set(done.map((d) => d.model))].join(','),
        'x-arbiter-reason': headerSafe(first.reason),
        'x-arbiter-fallbacks': [...new Set(done.flatMap((d) => d.fallbacks))].join(','),
        'x-request-id': done.map((d) => d.id).join(','),
      });
      const n = (rest.n as number | undefined) ?? 1;
      const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
      for (const d of done)
        for (const k of Object.keys(usage) as Array<keyof typeof usage>) usage[k] += d.response.usage?.[k] ?? 0;
      return {
        id: first.id,
        object: 'text_completion',
        created: first.response.created,
        model: first.model,
        choices: done.flatMap((d, i) =>
          d.response.choices.map((c) => ({
            text: c.message.content ?? '',
            index: i * n + c.index,
            logprobs: null,
            finish_reason: c.finish_reason,
          })),
        ),
        usage,
      };
    },
  );
}

/** Chat chunks as text_completion chunks (a usage-only chunk passes as it is). */
async function* asText(chunks: AsyncIterable<ChatChunk>): AsyncGenerator<object> {
  for await (const ch of chunks)
    yield ch.progress !== undefined
      ? ch
      : {
          id: ch.id,
          object: 'text_completion',
          created: ch.created,
          model: ch.model,
          choices: (ch.choices ?? []).map((c) => ({
            text: c.delta?.content ?? '',
            index: c.index,
            logprobs: null,
            finish_reason: c.finish_reason,
          })),
          ...(ch.usage ? { usage: ch.usage } : {}),
        };
}
