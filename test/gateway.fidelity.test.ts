/**
 * Gateway fidelity beyond the SDKs: unknown fields passed through (or refused by name with
 * gateway.unknownFields: reject), OpenAI-shaped error bodies, UTF-8 in headers percent-encoded,
 * admin endpoints explaining how to enable keys when authentication is off, and a config whose
 * apiKeyEnv names an unset variable refused at start.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StaticEmbedder } from '../src/embed/index.js';
import { ErrorCodes } from '../src/errors.js';
import { createArbiter } from '../src/index.js';
import { evaluate } from '../src/providers/index.js';
import { defaultModelDir } from '../src/paths.js';
import { headerSafe } from '../src/server/routes/chat.js';
import { buildGateway } from '../src/server/index.js';
import { availableBackends, SEED, startUpstream } from './helpers.js';

const received: Array<Record<string, unknown>> = [];
let baseUrl: string;
let closeUpstream: () => Promise<void>;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream((b, _req, res) => {
    received.push(b);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'up',
        object: 'chat.completion',
        created: 1,
        model: b.model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    );
  }));
});
afterAll(() => closeUpstream());

const backend = availableBackends()[0]!;
async function gateway(extra: Record<string, unknown> = {}) {
  const arbiter = await createArbiter(
    {
      models: [{ id: 'm', provider: { kind: 'openai', baseUrl, retries: 0 }, cost: { inputPer1k: 0, outputPer1k: 0 } }],
      ...extra,
    },
    { backend, embedder: await StaticEmbedder.load(defaultModelDir(), backend) },
  );
  const app = await buildGateway({ arbiter });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  return { url, post, close: () => app.close() };
}

describe('gateway fidelity', () => {
  it('passes fields it does not know to the upstream unchanged; reject mode names the field', async () => {
    const g = await gateway();
    const body = {
      model: 'auto',
      messages: [{ role: 'user', content: 'hi', refusal: null }],
      some_new_option: { nested: [1, 'two'] },
      service_tier: 'flex',
    };
    expect((await g.post('/v1/chat/completions', body)).status).toBe(200);
    expect(received.at(-1)).toMatchObject({
      some_new_option: { nested: [1, 'two'] },
      service_tier: 'flex',
      messages: [{ role: 'user', content: 'hi', refusal: null }],
    });
    await g.close();
    const strict = await gateway({ gateway: { unknownFields: 'reject' } });
    const r = await strict.post('/v1/chat/completions', body);
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({
      error: {
        message: expect.stringContaining('some_new_option is not a chat request field'),
        type: 'invalid_request_error',
        param: 'some_new_option',
        code: ErrorCodes.INVALID_REQUEST,
      },
    });
    // known fields still pass in reject mode
    expect((await strict.post('/v1/chat/completions', { ...body, some_new_option: undefined })).status).toBe(200);
    await strict.close();
  });

  it('error bodies carry OpenAI types; admin endpoints say how to enable keys when authentication is off', async () => {
    const g = await gateway();
    const missing = await g.post('/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'x' }] });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: unknown }).error).toMatchObject({
      type: 'not_found_error',
      code: ErrorCodes.NOT_FOUND,
      param: 'model',
    });
    const noContent = await g.post('/v1/chat/completions', { model: 'auto', messages: [{ role: 'user' }] });
    expect(noContent.status).toBe(400);
    const admin = await g.post('/admin/reload', {});
    expect(admin.status).toBe(401);
    expect(((await admin.json()) as { error: { message: string } }).error.message).toMatch(/ARBITER_ADMIN_KEYS/);
    await g.close();
  });

  it('routes by capability: a request with an image needs a model that takes images, else 422 naming it', async () => {
    const image = {
      model: 'auto',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    };
    const g = await gateway();
    const r = await g.post('/v1/chat/completions', image);
    expect(r.status).toBe(422);
    const e = ((await r.json()) as { error: { code: string; message: string } }).error;
    expect(e.code).toBe(ErrorCodes.NO_ELIGIBLE_MODEL);
    expect(e.message).toMatch(/m \(lacks vision/);
    await g.close();
    const seeing = await gateway({
      models: [
        { id: 'm', provider: { kind: 'openai', baseUrl, retries: 0 }, cost: { inputPer1k: 0, outputPer1k: 0 } },
        {
          id: 'eyes',
          provider: { kind: 'openai', baseUrl, retries: 0 },
          cost: { inputPer1k: 0.01, outputPer1k: 0.01 },
          capabilities: ['vision'],
        },
      ],
    });
    const ok = await seeing.post('/v1/chat/completions', image);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-arbiter-model')).toBe('eyes');
    expect(decodeURIComponent(ok.headers.get('x-arbiter-reason')!)).toMatch(/the request needs vision/);
    await seeing.close();
  });

  it('headers carry UTF-8 percent-encoded, readable back with decodeURIComponent', () => {
    for (const s of ['quality 0.80±0.05 for a code prompt', '100% — naïve 漢字 🙂', 'plain ascii']) {
      const h = headerSafe(s);
      expect(h).toMatch(/^[\x20-\x7e]*$/);
      expect(decodeURIComponent(h)).toBe(s);
    }
  });

  it('refuses to start when apiKeyEnv names an unset variable, naming it', async () => {
    await expect(
      createArbiter(
        {
          models: [
            {
              id: 'm',
              provider: { kind: 'openai', baseUrl, apiKeyEnv: 'ARBITER_TEST_SURELY_UNSET_KEY' },
              cost: { inputPer1k: 0, outputPer1k: 0 },
            },
          ],
        },
        { backend },
      ),
    ).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
      message: expect.stringContaining('ARBITER_TEST_SURELY_UNSET_KEY'),
    });
  });
});

describe('the offline rules model', () => {
  it('evaluates arithmetic as a plain tree walk does, on random expressions', () => {
    type Tree = number | { op: '+' | '-' | '*' | '/'; l: Tree; r: Tree };
    const tree: fc.Arbitrary<Tree> = fc.letrec((t) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.integer({ min: 0, max: 999 }),
        fc.record({ op: fc.constantFrom('+', '-', '*', '/'), l: t('node'), r: t('node') }),
      ),
    })).node as fc.Arbitrary<Tree>;
    const show = (x: Tree): string => (typeof x === 'number' ? String(x) : `(${show(x.l)} ${x.op} ${show(x.r)})`);
    const value = (x: Tree): number => {
      if (typeof x === 'number') return x;
      const [l, r] = [value(x.l), value(x.r)];
      return x.op === '+' ? l + r : x.op === '-' ? l - r : x.op === '*' ? l * r : l / r;
    };
    fc.assert(
      fc.property(tree, (x) => {
        const want = value(x);
        const got = evaluate(show(x));
        if (typeof x === 'number' || !Number.isFinite(want)) return got === undefined || got === want;
        return got !== undefined && Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want));
      }),
      { numRuns: 2000, seed: SEED },
    );
    expect(evaluate('2 ^ 3 ^ 2')).toBe(512); // right-associative
    expect(evaluate('-3 × 4 ÷ 2')).toBe(-6);
    expect(evaluate('1,000 + 1')).toBe(1001);
    expect(evaluate('hello')).toBeUndefined();
    expect(evaluate('17')).toBeUndefined(); // a number alone is not a sum to do
    expect(evaluate('(1 + 2')).toBeUndefined();
  });
});
