/**
 * The engine facade against a real upstream on 127.0.0.1: createArbiter(config).complete routes,
 * falls back along the plan when the first model fails, and emits one outcome event per request
 * with every call in it; streams are recorded when they end; close() drains and refuses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createArbiter, ErrorCodes, type OutcomeEvent } from '../src/index.js';
import { StaticEmbedder } from '../src/embed/index.js';
import { defaultModelDir } from '../src/paths.js';
import { availableBackends, startUpstream } from './helpers.js';

const backend = availableBackends()[0]!;

function upstream(body: { model: string; stream?: boolean }, _req: IncomingMessage, res: ServerResponse): void {
  {
    if (body.model === 'broken') return void res.writeHead(500).end('{"error":"boom"}');
    const content = `answer from ${body.model}`;
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const part of ['answer ', `from ${body.model}`])
        res.write(
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta: { content: part }, finish_reason: null }] })}\n\n`,
        );
      return void res.end('data: [DONE]\n\n');
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'x',
        object: 'chat.completion',
        created: 1,
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
      }),
    );
  }
}

let baseUrl: string;
let closeUpstream: () => Promise<void>;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream(upstream));
});
afterAll(() => closeUpstream());

/** `broken` is the strongest prior, so routing picks it first and must fall back to `good`. */
async function engine() {
  const model = (id: string, quality: number, inputPer1k: number) => ({
    id,
    provider: { kind: 'openai', baseUrl, retries: 0, timeoutMs: 2000 },
    cost: { inputPer1k, outputPer1k: 2 * inputPer1k },
    strengths: { general: quality },
  });
  return createArbiter(
    { models: [model('broken', 0.95, 0.01), model('good', 0.7, 0.002)], routing: { strategy: 'quality' } },
    { backend, embedder: await StaticEmbedder.load(defaultModelDir(), backend), gate: { backoffBaseMs: 1 } },
  );
}

describe('createArbiter: route → execute → record', () => {
  it('falls back when the first model fails, and emits one outcome event with both calls', async () => {
    const arbiter = await engine();
    const events: OutcomeEvent[] = [];
    arbiter.onOutcome((e) => events.push(e));
    const r = await arbiter.complete({
      model: 'auto',
      messages: [{ role: 'user', content: 'Explain how a hash map handles collisions.' }],
    });
    expect(r.model).toBe('good');
    expect(r.fallbacks).toEqual(['broken']);
    expect(r.response.choices[0]!.message.content).toBe('answer from good');
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e).toMatchObject({
      id: r.id,
      kind: 'complete',
      status: 'ok',
      model: 'good',
      fallbacks: ['broken'],
      decision: { model: 'broken', strategy: 'quality' },
    });
    expect(e.calls.map((c) => [c.model, c.attempt, c.status, c.code])).toEqual([
      ['broken', 1, 'error', ErrorCodes.UPSTREAM_ERROR],
      ['good', 2, 'ok', undefined],
    ]);
    // cost from the response's usage × the model's price: (12 × 0.002 + 5 × 0.004) / 1000
    expect(e.calls[1]).toMatchObject({ promptTokens: 12, completionTokens: 5 });
    expect(e.calls[1]!.cost).toBeCloseTo((12 * 0.002 + 5 * 0.004) / 1000, 12);
    expect(e.cost).toBeCloseTo(e.calls[1]!.cost, 12);
    expect(e.calls.every((c) => c.latencyMs >= 0)).toBe(true);
    await arbiter.close();
  });

  it('a stream is one event when it ends, with the time to its first chunk; a failed plan is one error event', async () => {
    const arbiter = await engine();
    const events: OutcomeEvent[] = [];
    arbiter.onOutcome((e) => events.push(e));
    const s = await arbiter.complete({
      model: 'auto',
      stream: true,
      messages: [{ role: 'user', content: 'Write a haiku about rain.' }],
    });
    expect(events).toHaveLength(0); // not before the stream ends
    let text = '';
    for await (const ch of s.chunks) text += ch.choices[0]?.delta.content ?? '';
    expect(text).toBe('answer from good');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'stream', status: 'ok', model: 'good', fallbacks: ['broken'] });
    expect(events[0]!.calls[1]!.ttftMs).toBeGreaterThanOrEqual(0);
    await expect(
      arbiter.complete({ model: 'broken', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ code: ErrorCodes.UPSTREAM_ERROR });
    expect(events[1]).toMatchObject({
      kind: 'complete',
      status: 'error',
      code: ErrorCodes.UPSTREAM_ERROR,
      fallbacks: ['broken'],
    });
    await arbiter.close();
  });

  it('a subscriber that throws never fails the request; close() is idempotent and later calls are ARB_CLOSED', async () => {
    const arbiter = await engine();
    const seen: unknown[] = [];
    arbiter.onOutcome(() => {
      throw new Error('subscriber bug');
    });
    arbiter.onListenerError((e) => seen.push(e));
    const r = await arbiter.complete({ model: 'good', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.model).toBe('good');
    expect(seen).toHaveLength(1);
    await Promise.all([arbiter.close(), arbiter.close()]);
    expect(arbiter.closed).toBe(true);
    await expect(arbiter.route('hi')).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    await expect(
      arbiter.complete({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    await expect(arbiter.router.route('hi')).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  });

  it('close() waits for a request in flight before freeing the router', async () => {
    const arbiter = await engine();
    const pending = arbiter.complete({ model: 'good', messages: [{ role: 'user', content: 'hi' }] });
    const closed = arbiter.close();
    expect(arbiter.active).toBe(1);
    await expect(pending).resolves.toMatchObject({ model: 'good' });
    await closed;
    expect(arbiter.active).toBe(0);
  });

  it('decode options are validated by the arbiter option schema before any call', async () => {
    const arbiter = await engine();
    await expect(
      arbiter.decode({ messages: [{ role: 'user', content: 'hi' }] }, { strategy: 'best_of_n', n: 0 }),
    ).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, param: 'n' });
    await expect(
      arbiter.decode({ messages: [{ role: 'user', content: 'hi' }] }, { strategy: 'guided', beamWidth: 9 }),
    ).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, param: 'beamWidth' });
    await expect(
      arbiter.decode({ messages: [{ role: 'user', content: 'hi' }] }, { strategy: 'beam' } as never),
    ).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, param: 'strategy' });
    await arbiter.close();
  });
});
