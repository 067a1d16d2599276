/**
 * Hostile clients and upstreams against a real gateway on 127.0.0.1: slow and endless bodies,
 * refused clients that keep sending, streams that stall after their first token, oversized and
 * undelimited upstream bodies, upstreams that echo credentials or send empty answers, reloads
 * under an open breaker, and batch requests that amplify.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';

import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StaticEmbedder } from '../../src/embed/index.js';
import { createArbiter, ErrorCodes, type Arbiter } from '../../src/index.js';
import { defaultModelDir } from '../../src/paths.js';
import { buildGateway, keysFromEnv, type GatewayOptions } from '../../src/server/index.js';
import { availableBackends } from '../helpers.js';

const backend = availableBackends()[0]!;
const SECRET = 'sk-live-0123456789abcdefSECRET';

function chunk(model: string, content: string): string {
  return `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
}
const completion = (model: string, message: unknown) =>
  JSON.stringify({
    id: 'x',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });

function upstream(req: IncomingMessage, res: ServerResponse): void {
  let raw = '';
  req.on('data', (c: Buffer) => (raw += c.toString()));
  req.on('end', () => {
    const body = JSON.parse(raw) as { model: string; stream?: boolean };
    const m = body.model;
    switch (m) {
      case 'ok':
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(chunk(m, 'fine'));
          return void res.end('data: [DONE]\n\n');
        }
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(completion(m, { role: 'assistant', content: 'fine' }));
      case 'stall':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.write(chunk(m, 'first words ')); // then nothing, ever
      case 'huge': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const piece = 'x'.repeat(64 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < 80 && res.write(`"${piece}",`)) sent++;
          if (sent < 80) res.once('drain', pump);
          else res.end();
        };
        res.write('{"padding": [');
        return void pump();
      }
      case 'nodelim': {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const piece = `data: ${'y'.repeat(64 * 1024)}`;
        let sent = 0;
        const pump = () => {
          while (sent < 40 && !res.destroyed && res.write(piece)) sent++;
          if (sent < 40 && !res.destroyed) res.once('drain', pump);
          else res.end();
        };
        return void pump();
      }
      case 'echo401':
        return void res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: `invalid key in header Authorization: ${req.headers.authorization}` }));
      case 'nochoices':
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: m, choices: [] }));
      case 'nullmessage':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(completion(m, null));
      default:
        return void res.writeHead(500).end('{"error":"boom"}');
    }
  });
}

let up: Server;
let upUrl: string;
const apps: FastifyInstance[] = [];
beforeAll(async () => {
  up = createServer(upstream);
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  upUrl = `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  up.closeAllConnections();
  await new Promise<void>((r) => up.close(() => r()));
});

const embedder = StaticEmbedder.load(defaultModelDir(), backend);

function config(ids: string[], provider: Record<string, unknown> = {}) {
  return {
    models: ids.map((id, i) => ({
      id,
      provider: { kind: 'openai', baseUrl: upUrl, apiKeyEnv: 'HOSTILE_KEY', retries: 0, timeoutMs: 3000, ...provider },
      cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
      strengths: { general: 0.9 - i * 0.1 },
    })),
    routing: { strategy: 'quality' },
  };
}

async function engine(
  ids: string[],
  provider: Record<string, unknown> = {},
  extra: { previous?: Arbiter; failureThreshold?: number } = {},
) {
  return createArbiter(config(ids, provider), {
    backend,
    embedder: await embedder,
    env: { HOSTILE_KEY: SECRET },
    gate: { backoffBaseMs: 1, failureThreshold: extra.failureThreshold ?? 100, cooldownMs: 60_000 },
    ...(extra.previous ? { previous: extra.previous } : {}),
  });
}

async function serve(arbiter: Arbiter, o: Partial<GatewayOptions> = {}): Promise<string> {
  const app = await buildGateway({ arbiter, ...o });
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const ask = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content: 'hello there' }],
  ...extra,
});

/** Opens a raw connection, writes `head`, then `drip` every `everyMs`; resolves with what came back once the server closes it. */
function rawClient(
  url: string,
  head: string,
  drip: string,
  everyMs: number,
): Promise<{ closed: boolean; response: string }> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), '127.0.0.1');
    let response = '';
    const timer = setInterval(() => s.writable && s.write(drip), everyMs);
    const give = setTimeout(() => {
      clearInterval(timer);
      s.destroy();
      resolve({ closed: false, response });
    }, 20_000);
    s.on('data', (d) => (response += d.toString()));
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(timer);
      clearTimeout(give);
      resolve({ closed: true, response });
    });
    s.write(head);
  });
}

describe('hostile clients', () => {
  const limits = { connections: { requestTimeoutMs: 400, headersTimeoutMs: 400 } };

  it('a body sent a byte at a time, and a chunked body that never ends, lose their connection', async () => {
    const url = await serve(await engine(['ok']), limits);
    const slow = rawClient(
      url,
      'POST /v1/route HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{',
      ' ',
      100,
    );
    const endless = rawClient(
      url,
      'POST /v1/route HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
      '1\r\n \r\n',
      100,
    );
    const headers = rawClient(url, 'GET /health HTTP/1.1\r\nhost: x\r\n', 'x-slow: 1\r\n', 100);
    for (const r of await Promise.all([slow, endless, headers])) expect(r.closed).toBe(true);
    expect((await fetch(`${url}/health`)).status).toBe(200); // and the server serves on
  });

  it('a refused client keeps no connection, even while it is still sending its body', async () => {
    const url = await serve(await engine(['ok']), { auth: { clientKeys: ['good'], adminKeys: [] } });
    const r = await rawClient(
      url,
      'POST /v1/route HTTP/1.1\r\nhost: x\r\nauthorization: Bearer wrong\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{',
      ' ',
      50,
    );
    expect(r.closed).toBe(true);
    expect(r.response).toMatch(/^HTTP\/1.1 401/);
    expect(r.response.toLowerCase()).toContain('connection: close');
  });

  it('the auth scheme is case-insensitive; a key variable holding no key refuses to start', async () => {
    const url = await serve(await engine(['ok']), { auth: { clientKeys: ['good'], adminKeys: [] } });
    for (const h of ['Bearer good', 'bearer good', 'BEARER  good'])
      expect((await post(`${url}/v1/route`, { prompt: 'hi' }, { authorization: h })).status).toBe(200);
    expect((await post(`${url}/v1/route`, { prompt: 'hi' }, { authorization: 'Basic good' })).status).toBe(401);
    expect(() => keysFromEnv('K', { K: ' , ' })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }));
    expect(keysFromEnv('K', { K: 'a, b' })).toEqual(['a', 'b']);
    expect(keysFromEnv('K', {})).toEqual([]);
  });
});

describe('hostile upstreams', () => {
  it('a stream that stalls after its first token ends with an error event', async () => {
    const url = await serve(await engine(['stall'], { streamIdleMs: 200 }));
    const r = await post(`${url}/v1/chat/completions`, ask('stall', { stream: true }));
    const text = await r.text();
    expect(text).toContain('first words');
    expect(text).toContain(ErrorCodes.STREAM_INTERRUPTED);
    expect(text).toContain('stalled');
    expect(text).not.toContain('[DONE]');
  });

  it('an oversized body, and a stream without event delimiters, fail with a coded error', async () => {
    const url = await serve(await engine(['huge', 'nodelim'], { maxResponseBytes: 1 << 20 }));
    const big = await post(`${url}/v1/chat/completions`, ask('huge'));
    expect(big.status).toBe(502);
    expect(((await big.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: ErrorCodes.UPSTREAM_ERROR,
      message: expect.stringContaining('larger than'),
    });
    const s = await post(`${url}/v1/chat/completions`, ask('nodelim', { stream: true }));
    expect(s.status).toBe(502);
    expect(((await s.json()) as { error: { message: string } }).error.message).toMatch(/larger than/);
  });

  it('an upstream that echoes the API key never gets it relayed', async () => {
    const url = await serve(await engine(['echo401']));
    const r = await post(`${url}/v1/chat/completions`, ask('echo401'));
    const text = await r.text();
    expect(r.status).toBe(502);
    expect(text).toContain('401');
    expect(text).not.toContain(SECRET);
    expect(text).not.toMatch(/0123456789abcdef/);
  });

  it('an empty choices array or a null message is an upstream error, not a 200', async () => {
    const url = await serve(await engine(['nochoices', 'nullmessage']));
    for (const m of ['nochoices', 'nullmessage']) {
      const r = await post(`${url}/v1/chat/completions`, ask(m));
      expect(r.status).toBe(502);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(ErrorCodes.UPSTREAM_ERROR);
    }
  });

  it('a reload keeps the breaker and the in-flight count of models that remain', async () => {
    const first = await engine(['fail', 'ok'], {}, { failureThreshold: 1 });
    const url = await serve(first, {
      auth: { clientKeys: [], adminKeys: ['adm'] },
      reload: (current) => engine(['fail', 'ok'], {}, { previous: current, failureThreshold: 1 }),
    });
    expect((await post(`${url}/v1/chat/completions`, ask('fail'), { authorization: 'Bearer adm' })).status).toBe(502);
    const state = async () =>
      ((await (await fetch(`${url}/health`)).json()) as { models: Array<{ id: string; state: string }> }).models.find(
        (m) => m.id === 'fail',
      )!.state;
    expect(await state()).toBe('cooling down');
    expect((await post(`${url}/admin/reload`, {}, { authorization: 'Bearer adm' })).status).toBe(200);
    expect(await state()).toBe('cooling down');
  });
});

describe('hostile requests', () => {
  it('task names Object.prototype has are refused; none can poison routing', async () => {
    const a = await engine(['ok', 'fail']);
    const url = await serve(a, { auth: { clientKeys: [], adminKeys: ['adm'] } });
    const r = await post(
      `${url}/v1/feedback`,
      { prompt: 'hi', model: 'ok', quality: 1, task: 'constructor' },
      { authorization: 'Bearer adm' },
    );
    expect(r.status).toBe(400);
    await expect(a.feedback({ prompt: 'hi', model: 'ok', quality: 1, task: 'constructor' })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
      param: 'task',
    });
    const fc = await import('fast-check');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'constructor',
          'toString',
          '__proto__',
          'valueOf',
          'hasOwnProperty',
          'prototype',
          'length',
          'code',
          'math',
        ),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (task, quality) => {
          await a
            .feedback({ prompt: `question about ${task}`, model: 'ok', quality, task })
            .catch((e: { code?: string }) => expect(e.code).toBe(ErrorCodes.INVALID_ARGUMENT));
          const d = await a.route(`question about ${task}`);
          expect(d.alternatives.every((c) => Number.isFinite(c.quality) && Number.isFinite(c.score))).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('/v1/route/batch bounds its output and answers per item', async () => {
    const url = await serve(await engine(['ok']));
    const many = Array.from({ length: 1500 }, (_, i) => `prompt ${i}`);
    const full = await post(`${url}/v1/route/batch`, { prompts: many });
    expect(full.status).toBe(400);
    const compact = await post(`${url}/v1/route/batch`, { prompts: many, compact: true });
    expect(compact.status).toBe(200);
    const ds = ((await compact.json()) as { decisions: Array<{ model: string; task: string }> }).decisions;
    expect(ds).toHaveLength(1500);
    expect(Object.keys(ds[0]!).sort()).toEqual([
      'confidence',
      'cost',
      'fallbacks',
      'latencyMs',
      'model',
      'quality',
      'task',
    ]);
    // a prompt longer than every model's context fails alone, in its place
    const long = 'word '.repeat(40_000);
    const mixed = await post(`${url}/v1/route/batch`, { prompts: ['hello', long, 'bye'] });
    expect(mixed.status).toBe(200);
    const items = ((await mixed.json()) as { decisions: Array<{ model?: string; error?: { code: string } }> })
      .decisions;
    expect(items.map((d) => d.error?.code ?? d.model)).toEqual(['ok', ErrorCodes.NO_ELIGIBLE_MODEL, 'ok']);
    const [one, alone] = await Promise.all([
      post(`${url}/v1/route`, { prompt: long }),
      post(`${url}/v1/route`, { prompt: 'hello' }),
    ]);
    expect(one.status).toBe(422);
    expect(alone.status).toBe(200); // micro-batched with the long one, answered on its own
  });

  it('a replay data file that is neither CSV nor JSONL is a config error', async () => {
    const cfg = {
      models: [
        {
          id: 'r',
          provider: { kind: 'replay', data: 'test/hostile/http.test.ts' },
          cost: { inputPer1k: 0, outputPer1k: 0 },
        },
      ],
    };
    await expect(createArbiter(cfg, { backend, embedder: await embedder })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
    });
  });
});
