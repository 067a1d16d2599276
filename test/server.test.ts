// The gateway over real sockets: an OpenAI-compatible upstream owned by the test injects faults
// (5xx, 429 + Retry-After, hangs, resets, streams cut mid-way, malformed JSON) and the gateway's
// fallbacks, breakers, queue limits and streaming are checked end to end; every endpoint's input
// is fuzzed; nothing a client sends yields a 5xx or kills the server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createRouter, validateConfig } from '../src/index.js';
import { Arbiter } from '../src/engine/index.js';
import { defaultModelDir } from '../src/paths.js';
import { buildGateway } from '../src/server/index.js';
import { availableBackends } from './helpers.js';
import { createUpstreams } from '../src/providers/index.js';
import { StaticEmbedder } from '../src/embed/index.js';

const backend = availableBackends()[0]!;

/** Upstream behaviour by the `model` field it receives. Calls are counted per model. */
const calls = new Map<string, number>();
let once429 = 0;
function upstream(req: IncomingMessage, res: ServerResponse): void {
  let raw = '';
  req.on('data', (c: Buffer) => (raw += c.toString()));
  req.on('end', () => {
    let body: { model: string; stream?: boolean; messages: Array<{ content: string }> };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      res.writeHead(400).end('{}');
      return;
    }
    const m = body.model;
    calls.set(m, (calls.get(m) ?? 0) + 1);
    const text = `answer from ${m}`;
    const completion = {
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model: m,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
    };
    const chunk = (content: string, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: m, choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
    switch (m) {
      case 'ok':
      case 'ok2':
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(chunk('answer '));
          res.write(chunk(`from ${m}`));
          res.write(chunk('', 'stop'));
          res.end('data: [DONE]\n\n');
        } else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
        return;
      case 'say-A':
      case 'say-B':
      case 'say-A2': {
        const content = { 'say-A': 'A', 'say-B': 'B', 'say-A2': 'The answer is (A).' }[m];
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            ...completion,
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          }),
        );
        return;
      }
      case 'slowstream':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk('first '));
        setTimeout(() => {
          res.write(chunk('second', 'stop'));
          res.end('data: [DONE]\n\n');
        }, 400);
        return;
      case 'slow':
        setTimeout(
          () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion)),
          300,
        );
        return;
      case 'fail500':
        res.writeHead(500).end('{"error":"boom"}');
        return;
      case 'rate429-once':
        if (once429++ === 0) res.writeHead(429, { 'retry-after': '1' }).end('{}');
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
        return;
      case 'rate429-long':
        res.writeHead(429, { 'retry-after': '120' }).end('{}');
        return;
      case 'hang':
        return; // never answers
      case 'reset':
        req.socket.destroy();
        return;
      case 'badjson':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [');
        return;
      case 'cut':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk('first words '));
        setTimeout(() => req.socket.destroy(), 20);
        return;
      default:
        res.writeHead(404).end('{}');
    }
  });
}

let up: Server;
let upUrl: string;
const gateways: FastifyInstance[] = [];

beforeAll(async () => {
  up = createServer(upstream);
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  upUrl = `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  up.closeAllConnections();
  await new Promise<void>((r) => up.close(() => r()));
});

/** A gateway over models named after upstream behaviours; quality priors order the fallback plan. */
async function gateway(
  models: Array<{
    id: string;
    quality: number;
    maxConcurrent?: number;
    timeoutMs?: number;
    firstTokenMs?: number;
    limits?: { requestsPerMinute?: number; tokensPerMinute?: number };
  }>,
  extra: { auth?: { clientKeys: string[]; adminKeys: string[] }; maxQueue?: number; failureThreshold?: number } = {},
) {
  const cfg = validateConfig(
    {
      models: models.map((m) => ({
        id: m.id,
        provider: {
          kind: 'openai',
          baseUrl: upUrl,
          timeoutMs: m.timeoutMs ?? 2000,
          firstTokenMs: m.firstTokenMs ?? 2000,
          retries: 1,
        },
        cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
        maxConcurrent: m.maxConcurrent ?? 16,
        ...(m.limits ? { limits: m.limits } : {}),
        strengths: { general: m.quality },
      })),
      routing: { strategy: 'quality' },
    },
    'test',
  );
  const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
  const router = await createRouter(cfg, { backend, embedder });
  const upstreams = await createUpstreams(
    cfg,
    {},
    {
      backoffBaseMs: 1,
      cooldownMs: 60_000,
      failureThreshold: extra.failureThreshold ?? 100,
      ...(extra.maxQueue !== undefined ? { maxQueue: extra.maxQueue } : {}),
    },
  );
  const app = await buildGateway({
    arbiter: new Arbiter({ router, upstreams }),
    backend: backend.name,
    ...(extra.auth ? { auth: extra.auth } : {}),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  gateways.push(app);
  return { url, app, upstreams };
}

const chat = (url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hello there' }], ...body }),
  });

describe('gateway: chat completions', () => {
  it('answers from the routed model with the arbiter headers and the upstream usage', async () => {
    const { url } = await gateway([
      { id: 'ok', quality: 0.9 },
      { id: 'ok2', quality: 0.5 },
    ]);
    const r = await chat(url, { model: 'auto' });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-arbiter-model')).toBe('ok');
    expect(r.headers.get('x-arbiter-reason')).toMatch(/^quality: ok/);
    expect(Number(r.headers.get('x-arbiter-overhead-ms'))).toBeGreaterThanOrEqual(0);
    const j = (await r.json()) as {
      model: string;
      choices: Array<{ message: { content: string } }>;
      usage: { total_tokens: number };
    };
    expect(j).toMatchObject({
      model: 'ok',
      choices: [{ message: { content: 'answer from ok' } }],
      usage: { total_tokens: 6 },
    });
    const direct = await chat(url, { model: 'ok2' });
    expect(direct.headers.get('x-arbiter-model')).toBe('ok2');
  });

  it('falls back along the plan on 5xx, resets, malformed JSON and timeouts, retrying each once', async () => {
    for (const bad of ['fail500', 'reset', 'badjson', 'hang']) {
      const { url } = await gateway([
        { id: bad, quality: 0.95, timeoutMs: 150 },
        { id: 'ok', quality: 0.5 },
      ]);
      const before = calls.get(bad) ?? 0;
      const r = await chat(url, { model: 'auto' });
      expect(r.status, bad).toBe(200);
      expect(r.headers.get('x-arbiter-model')).toBe('ok');
      expect(r.headers.get('x-arbiter-fallbacks')).toBe(bad);
      expect((calls.get(bad) ?? 0) - before, bad).toBe(2); // one try and one retry
    }
  });

  it('honours Retry-After on 429 (waits, then succeeds on the same model); a long Retry-After falls back at once', async () => {
    const { url } = await gateway([
      { id: 'rate429-once', quality: 0.95 },
      { id: 'ok', quality: 0.5 },
    ]);
    const t0 = Date.now();
    const r = await chat(url, { model: 'auto' });
    expect(r.headers.get('x-arbiter-model')).toBe('rate429-once');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const g = await gateway([
      { id: 'rate429-long', quality: 0.95 },
      { id: 'ok', quality: 0.5 },
    ]);
    const before = calls.get('rate429-long') ?? 0;
    const r2 = await chat(g.url, { model: 'auto' });
    expect(r2.headers.get('x-arbiter-model')).toBe('ok');
    expect((calls.get('rate429-long') ?? 0) - before).toBe(1);
  });

  it('a failing model trips its breaker: later requests skip it without calling it, and /health says so', async () => {
    const { url } = await gateway(
      [
        { id: 'fail500', quality: 0.95 },
        { id: 'ok', quality: 0.5 },
      ],
      { failureThreshold: 4 },
    );
    await chat(url, { model: 'auto' }); // 2 failures
    await chat(url, { model: 'auto' }); // 4 failures: open
    const health = (await (await fetch(`${url}/health`)).json()) as { models: Array<{ id: string; state: string }> };
    expect(health.models.find((m) => m.id === 'fail500')!.state).toBe('cooling down');
    const before = calls.get('fail500') ?? 0;
    const r = await chat(url, { model: 'auto' });
    expect(r.headers.get('x-arbiter-model')).toBe('ok');
    expect(calls.get('fail500') ?? 0).toBe(before);
    // asked for by name while open: 503 with Retry-After
    const direct = await chat(url, { model: 'fail500' });
    expect(direct.status).toBe(503);
    expect(direct.headers.get('retry-after')).toBeTruthy();
    expect(((await direct.json()) as { error: { code: string } }).error.code).toBe('ARB_CIRCUIT_OPEN');
  });

  it('a full queue answers 429 with Retry-After; queued requests are served', async () => {
    const { url } = await gateway([{ id: 'slow', quality: 0.9, maxConcurrent: 1 }], { maxQueue: 1 });
    const rs = await Promise.all([0, 1, 2].map(() => chat(url, { model: 'slow' })));
    const codes = rs.map((r) => r.status).sort();
    expect(codes).toEqual([200, 200, 429]);
    const limited = rs.find((r) => r.status === 429)!;
    expect(limited.headers.get('retry-after')).toBeTruthy();
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('ARB_RATE_LIMITED');
  });

  it('a model at its requests-per-minute limit is skipped for the next in the plan, and /health says so', async () => {
    const { url } = await gateway([
      { id: 'ok', quality: 0.9, limits: { requestsPerMinute: 2 } },
      { id: 'ok2', quality: 0.5 },
    ]);
    const got: Array<[string | null, string | null]> = [];
    for (let i = 0; i < 3; i++) {
      const r = await chat(url, { model: 'auto' });
      expect(r.status).toBe(200);
      got.push([r.headers.get('x-arbiter-model'), r.headers.get('x-arbiter-fallbacks')]);
    }
    expect(got).toEqual([
      ['ok', ''],
      ['ok', ''],
      ['ok2', 'ok'],
    ]);
    const h = (await (await fetch(`${url}/health`)).json()) as { models: Array<{ id: string; state: string }> };
    expect(h.models.find((m) => m.id === 'ok')!.state).toBe('rate limited');
    const direct = await chat(url, { model: 'ok' });
    expect(direct.status).toBe(429);
    expect(Number(direct.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('when every model fails, the client gets one clear error naming them', async () => {
    const { url } = await gateway([
      { id: 'fail500', quality: 0.9 },
      { id: 'badjson', quality: 0.5 },
    ]);
    const r = await chat(url, { model: 'auto' });
    expect(r.status).toBe(502);
    const j = (await r.json()) as { error: { code: string; message: string } };
    expect(j.error.code).toBe('ARB_UPSTREAM_ERROR');
    expect(j.error.message).toMatch(/fail500, badjson/);
  });
});

async function sse(r: Response): Promise<string[]> {
  const text = await r.text();
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((e) => e.replace(/^data: /, ''));
}

describe('gateway: streaming', () => {
  it('streams the chosen model, ending with [DONE]', async () => {
    const { url } = await gateway([{ id: 'ok', quality: 0.9 }]);
    const r = await chat(url, { model: 'auto', stream: true });
    expect(r.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = await sse(r);
    expect(events.at(-1)).toBe('[DONE]');
    const text = events
      .slice(0, -1)
      .map(
        (e) => (JSON.parse(e) as { choices: Array<{ delta: { content?: string } }> }).choices[0]!.delta.content ?? '',
      )
      .join('');
    expect(text).toBe('answer from ok');
  });

  it('a stream failing before its first token falls back to the next model', async () => {
    const { url } = await gateway([
      { id: 'fail500', quality: 0.95 },
      { id: 'ok', quality: 0.5 },
    ]);
    const r = await chat(url, { model: 'auto', stream: true });
    expect(r.headers.get('x-arbiter-model')).toBe('ok');
    expect((await sse(r)).at(-1)).toBe('[DONE]');
  });

  it("a stream holds its model's concurrency slot until it ends, not only until its first token", async () => {
    const { url } = await gateway([{ id: 'slowstream', quality: 0.9, maxConcurrent: 1 }]);
    const r = await chat(url, { model: 'slowstream', stream: true });
    const reader = r.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('first');
    const health = async () =>
      (
        (await (await fetch(`${url}/health`)).json()) as {
          models: Array<{ id: string; inFlight: number; state: string }>;
        }
      ).models[0]!;
    expect(await health()).toMatchObject({ inFlight: 1, state: 'saturated' }); // mid-stream
    let rest = '';
    for (let c = await reader.read(); !c.done; c = await reader.read()) rest += new TextDecoder().decode(c.value);
    expect(rest).toContain('[DONE]');
    // released once the response has ended (poll: the client may see [DONE] a moment earlier)
    let after = await health();
    for (let i = 0; i < 100 && after.inFlight !== 0; i++)
      after = await new Promise((res) => setTimeout(res, 10)).then(health);
    expect(after).toMatchObject({ inFlight: 0, state: 'healthy' });
  });

  it('a stream cut after its first token ends with an error event, never a clean [DONE]', async () => {
    const { url } = await gateway([
      { id: 'cut', quality: 0.95 },
      { id: 'ok', quality: 0.5 },
    ]);
    const r = await chat(url, { model: 'auto', stream: true });
    expect(r.headers.get('x-arbiter-model')).toBe('cut');
    const events = await sse(r);
    expect(events).not.toContain('[DONE]');
    expect(JSON.parse(events.at(-1)!)).toMatchObject({ error: { code: 'ARB_STREAM_INTERRUPTED' } });
  });
});

describe('gateway: no request is lost', () => {
  it('60 concurrent requests across faults each end in a success or a JSON error with a code', async () => {
    const { url } = await gateway([
      { id: 'fail500', quality: 0.9 },
      { id: 'reset', quality: 0.8 },
      { id: 'slow', quality: 0.7, maxConcurrent: 2 },
      { id: 'ok', quality: 0.6 },
    ]);
    const rs = await Promise.all(
      Array.from({ length: 60 }, (_, i) => chat(url, { model: i % 3 === 0 ? 'slow' : 'auto', stream: i % 2 === 0 })),
    );
    for (const r of rs) {
      if (r.status === 200) {
        const text = await r.text();
        expect(text.length).toBeGreaterThan(0);
      } else {
        expect(((await r.json()) as { error: { code: string } }).error.code).toMatch(/^ARB_/);
      }
    }
    expect(rs.filter((r) => r.status === 200).length).toBeGreaterThan(30);
  });
});

describe('gateway: other endpoints, auth and bad input', () => {
  it('route (micro-batched), route/batch, models and metrics', async () => {
    const { url } = await gateway([
      { id: 'ok', quality: 0.9 },
      { id: 'ok2', quality: 0.5 },
    ]);
    const ds = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${url}/v1/route`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: `question ${i}`, options: { strategy: 'cost' } }),
        }).then((r) => r.json() as Promise<{ model: string }>),
      ),
    );
    expect(ds.every((d) => d.model === 'ok' || d.model === 'ok2')).toBe(true);
    const b = (await (
      await fetch(`${url}/v1/route/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompts: ['a', 'b'] }),
      })
    ).json()) as { decisions: unknown[] };
    expect(b.decisions).toHaveLength(2);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toEqual(
      expect.arrayContaining(['auto', 'auto:cost', 'ok', 'ok2', 'pipeline:six-phase', 'agent', 'agent:coding']),
    );
    await chat(url, { model: 'auto' });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/arbiter_requests_total\{route="\/v1\/chat\/completions",status="200"\} \d/);
    expect(metrics).toMatch(/arbiter_selections_total\{model="ok"\} \d/);
  });

  it('client and admin keys: feedback needs admin; secrets are never echoed', async () => {
    const { url } = await gateway([{ id: 'ok', quality: 0.9 }], {
      auth: { clientKeys: ['c-secret'], adminKeys: ['a-secret'] },
    });
    expect((await chat(url, { model: 'auto' })).status).toBe(401);
    expect((await chat(url, { model: 'auto' }, { authorization: 'Bearer c-secret' })).status).toBe(200);
    const fb = (key?: string) =>
      fetch(`${url}/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ prompt: 'hello', model: 'ok', quality: 1 }),
      });
    const forbidden = await fb('c-secret');
    expect(forbidden.status).toBe(403);
    expect(await forbidden.text()).not.toContain('c-secret');
    expect((await fb('a-secret')).status).toBe(200);
    expect((await fetch(`${url}/health`)).status).toBe(200); // health stays open
  });

  it('fuzzed bodies get 4xx with a stable code, never a 5xx; the server keeps serving', async () => {
    const { url } = await gateway([{ id: 'ok', quality: 0.9 }]);
    const endpoints = ['/v1/chat/completions', '/v1/route', '/v1/route/batch', '/v1/feedback'];
    const bodies = fc.oneof(
      fc.json(),
      fc.record({ model: fc.oneof(fc.string(), fc.constant('auto'), fc.integer()), messages: fc.anything() }),
      fc.record({ prompt: fc.anything(), options: fc.anything() }),
      fc.record({ prompts: fc.array(fc.anything(), { maxLength: 3 }) }),
      fc.string().map((s) => `{${s}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), bodies, async (path, body) => {
        const r = await fetch(`${url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
        expect(r.status, `${path} ${JSON.stringify(body)}`).toBeLessThan(500);
        if (r.status >= 400)
          expect(((await r.json()) as { error: { code: string } }).error.code).toMatch(/^ARB_[A-Z_]+$/);
        else await r.arrayBuffer();
      }),
      { numRuns: 150 },
    );
    const big = await fetch(`${url}/v1/route`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x'.repeat(2 << 20) }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('ARB_PAYLOAD_TOO_LARGE');
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await chat(url, { model: 'auto' })).status).toBe(200);
  }, 60_000);
});

describe('gateway: arbiter.strategy vote', () => {
  it('asks several models at once and returns the weighted majority answer, with candidates on request', async () => {
    const { url } = await gateway([
      { id: 'say-A', quality: 0.65 },
      { id: 'say-B', quality: 0.7 },
      { id: 'say-A2', quality: 0.65 },
      { id: 'fail500', quality: 0.5 },
    ]); // A: 2 x logit(0.65) > B: logit(0.7)
    const r = await chat(url, {
      model: 'auto',
      messages: [{ role: 'user', content: 'Pick one.\nA) red\nB) blue\nAnswer:' }],
      arbiter: { strategy: 'vote', models: ['say-A', 'say-B', 'say-A2', 'fail500'], include_candidates: true },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-arbiter-strategy')).toBe('vote');
    expect(r.headers.get('x-arbiter-calls')).toBe('4');
    // fail500 fails unless the vote was settled (and its call cancelled) first
    const j = (await r.json()) as {
      model: string;
      arbiter: {
        answerKind: string;
        tally: Record<string, number>;
        failures: Array<{ model: string; code: string }>;
        candidates: Array<{ model: string; answer: string | null }>;
      };
    };
    expect(r.headers.get('x-arbiter-fallbacks')).toBe(j.arbiter.failures.map((f) => f.model).join(','));
    expect(j.arbiter.failures.every((f) => f.model === 'fail500' && f.code === 'ARB_UPSTREAM_ERROR')).toBe(true);
    expect(j.arbiter.answerKind).toBe('choice');
    expect(j.arbiter.candidates.map((c) => c.answer)).toEqual(['A', 'B', 'A']);
    expect(j.arbiter.tally.A!).toBeGreaterThan(j.arbiter.tally.B!);
    expect(['say-A', 'say-A2']).toContain(j.model);
    const bad = await chat(url, { model: 'auto', stream: true, arbiter: { strategy: 'vote' } });
    expect(bad.status).toBe(400);
    const unknown = await chat(url, { model: 'auto', arbiter: { strategy: 'vote', models: ['say-A', 'nobody'] } });
    expect(unknown.status).toBe(404);
    const wrong = await chat(url, { model: 'auto', arbiter: { strategy: 'beam' } });
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('ARB_INVALID_REQUEST');
  });
});

describe('gateway: reload', () => {
  it('an admin reload swaps the models without dropping the request in flight', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const state = async (ids: string[]) => {
      const cfg = validateConfig(
        {
          models: ids.map((id) => ({
            id,
            provider: { kind: 'openai', baseUrl: upUrl },
            cost: { inputPer1k: 1, outputPer1k: 1 },
          })),
        },
        'test',
      );
      return { router: await createRouter(cfg, { backend, embedder }), upstreams: await createUpstreams(cfg) };
    };
    const app = await buildGateway({
      arbiter: new Arbiter(await state(['slow'])),
      backend: backend.name,
      auth: { clientKeys: [], adminKeys: ['adm'] },
      reload: async () => new Arbiter(await state(['ok', 'ok2'])),
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    gateways.push(app);
    const inFlight = chat(url, { model: 'slow' }, { authorization: 'Bearer adm' });
    await new Promise((r) => setTimeout(r, 50));
    const rl = await fetch(`${url}/admin/reload`, { method: 'POST', headers: { authorization: 'Bearer adm' } });
    expect(((await rl.json()) as { models: string[] }).models).toEqual(['ok', 'ok2']);
    expect((await inFlight).status).toBe(200);
    const models = (await (await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer adm' } })).json()) as {
      data: Array<{ id: string }>;
    };
    expect(models.data.map((m) => m.id)).toContain('ok2');
    expect(models.data.map((m) => m.id)).not.toContain('slow');
  });
});

describe('arbiter serve', () => {
  it("npm start's demo config answers offline: recorded prompts from replay models, any other from the rules model", async () => {
    const { createGateway } = await import('../src/server/index.js');
    // a copy of the demo beside a fresh store: what earlier runs taught config/arbiter.db must not steer this one
    const { cp, mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-demo-'));
    for (const f of ['demo.yaml', 'demo-replay.jsonl']) await cp(join('config', f), join(dir, f));
    const app = await createGateway(join(dir, 'demo.yaml'));
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    gateways.push(app);
    const r = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'auto:quality', messages: [{ role: 'user', content: 'What is 17 * 23?' }] }),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-arbiter-model')).toMatch(/^demo-/); // a recorded prompt: a replay model answers
    expect(
      ((await r.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content,
    ).toMatch(/391/);
    // a newcomer's own prompts: the replay models have no recording, the offline rules model answers
    const ask = async (content: string, stream = false) => {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', stream, n: stream ? 2 : 1, messages: [{ role: 'user', content }] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-arbiter-model')).toBe('offline-rules');
      expect(res.headers.get('x-arbiter-fallbacks')).toMatch(/demo-/);
      return stream ? res.text() : ((await res.json()) as { choices: Array<{ message: { content: string } }> });
    };
    expect((await ask('What is (12 + 30) * 2.5?')) as object).toMatchObject({
      choices: [{ message: { content: '(12 + 30) * 2.5 = 105' } }],
    });
    const prose = (await ask('Write me a poem about the sea.')) as { choices: Array<{ message: { content: string } }> };
    expect(prose.choices[0]!.message.content).toMatch(/offline demo model.*provider kind openai/s);
    // streamed with n: 2, every choice comes through
    const sse = (await ask('hello there', true)) as string;
    const indexes = new Set(
      sse
        .split('\n\n')
        .filter((l) => l.startsWith('data: {'))
        .flatMap((l) => (JSON.parse(l.slice(6)) as { choices: Array<{ index: number }> }).choices.map((c) => c.index)),
    );
    expect([...indexes].sort()).toEqual([0, 1]);
  });

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-serve-'));
    const cfg = join(dir, 'c.yaml');
    await writeFile(
      cfg,
      `models:\n  - { id: slow, provider: { kind: openai, baseUrl: "${upUrl}" }, cost: { inputPer1k: 1, outputPer1k: 1 } }\n`,
    );
    const child = spawn(process.execPath, ['bin/arbiter.js', 'serve', '--config', cfg, '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const address = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(err)));
    });
    const inFlight = fetch(`${address}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await new Promise((r) => setTimeout(r, 100));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(await exited).toBe(0);
  }, 30_000);
});
