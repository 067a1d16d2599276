/**
 * Fuzzed chat requests built from the OpenAI request shape (fast-check), valid and broken, over
 * HTTP: every one is answered 2xx or 4xx with a coded body — never 5xx, never a crash — and a
 * valid one reaches the upstream with its fields unchanged (the upstream answers with what it
 * received). ARBITER_FUZZ_RUNS sets the number of requests (default 1,500; 50,000 for the issue's
 * acceptance run).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StaticEmbedder } from '../src/embed/index.js';
import { createArbiter } from '../src/index.js';
import { defaultModelDir } from '../src/paths.js';
import { buildGateway } from '../src/server/index.js';
import { availableBackends, SEED, startUpstream } from './helpers.js';

const RUNS = Number(process.env.ARBITER_FUZZ_RUNS ?? 1500);

let gateway: string;
let close: () => Promise<void>;
beforeAll(async () => {
  const up = await startUpstream((b, _req, res) => {
    const echo = JSON.stringify(b);
    if (b.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = { id: 'up', object: 'chat.completion.chunk', created: 1, model: b.model };
      res.write(
        `data: ${JSON.stringify({ ...chunk, choices: [{ index: 0, delta: { content: echo }, finish_reason: null }] })}\n\n`,
      );
      res.write(`data: ${JSON.stringify({ ...chunk, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
      return void res.end('data: [DONE]\n\n');
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'up',
        object: 'chat.completion',
        created: 1,
        model: b.model,
        choices: [{ index: 0, message: { role: 'assistant', content: echo }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
      }),
    );
  });
  const backend = availableBackends()[0]!;
  const arbiter = await createArbiter(
    {
      models: [
        {
          id: 'm',
          provider: { kind: 'openai', baseUrl: up.baseUrl, retries: 0 },
          cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
          contextTokens: 2_000_000,
          maxConcurrent: 64,
          capabilities: ['tools', 'json', 'vision', 'audio', 'streaming'],
        },
      ],
    },
    { backend, embedder: await StaticEmbedder.load(defaultModelDir(), backend) },
  );
  const app = await buildGateway({ arbiter });
  gateway = await app.listen({ host: '127.0.0.1', port: 0 });
  close = async () => {
    await app.close();
    await up.close();
  };
});
afterAll(() => close());

const text = fc.string({ maxLength: 40 });
const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text }),
  fc.record({
    type: fc.constant('image_url'),
    image_url: fc.record({
      url: fc.constant('data:image/png;base64,iVBORw0KGgo='),
      detail: fc.constantFrom('low', 'high'),
    }),
  }),
);
const content = fc.oneof(text, fc.array(part, { minLength: 1, maxLength: 3 }));
const toolCall = fc.record({
  id: fc.stringMatching(/^call_[a-z0-9]{1,8}$/),
  type: fc.constant('function'),
  function: fc.record({ name: fc.constantFrom('get_weather', 'search'), arguments: fc.constant('{"q":"x"}') }),
});
const message = fc.oneof(
  fc.record({ role: fc.constantFrom('user', 'system', 'developer'), content }),
  fc.record({ role: fc.constant('assistant'), content: text }),
  fc.record({
    role: fc.constant('assistant'),
    content: fc.constant(null),
    tool_calls: fc.array(toolCall, { minLength: 1, maxLength: 2 }),
  }),
  fc.record({ role: fc.constant('tool'), tool_call_id: fc.constant('call_1'), content: text }),
);
const tool = fc.record({
  type: fc.constant('function'),
  function: fc.record({
    name: fc.constantFrom('get_weather', 'search'),
    parameters: fc.constant({ type: 'object', properties: {} }),
  }),
});
// keys that poison prototypes are refused by the JSON parser (Fastify's onProtoPoisoning and
// onConstructorPoisoning): they belong to the broken requests
const poisoned = (j: unknown) => /"(__proto__|constructor)":/.test(JSON.stringify(j));
const json = fc.jsonValue({ maxDepth: 3 }).filter((j) => !poisoned(j));

/** A request as the OpenAI API documents it (and one field it does not: passed through). */
const valid = fc.record(
  {
    model: fc.constantFrom('auto', 'auto:cost', 'm'),
    messages: fc.array(message, { minLength: 1, maxLength: 4 }),
    stream: fc.boolean(),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    n: fc.integer({ min: 1, max: 3 }),
    max_tokens: fc.integer({ min: 1, max: 1000 }),
    max_completion_tokens: fc.integer({ min: 1, max: 1000 }),
    presence_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    frequency_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    seed: fc.integer(),
    user: fc.string({ maxLength: 20 }),
    stop: fc.oneof(text, fc.array(text, { maxLength: 4 })),
    tools: fc.array(tool, { minLength: 1, maxLength: 3 }),
    tool_choice: fc.constantFrom('none', 'auto', 'required'),
    parallel_tool_calls: fc.boolean(),
    response_format: fc.record({ type: fc.constantFrom('text', 'json_object') }),
    metadata: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
    logit_bias: fc.dictionary(fc.stringMatching(/^[0-9]{1,5}$/), fc.integer({ min: -100, max: 100 }), { maxKeys: 3 }),
    reasoning_effort: fc.constantFrom('low', 'medium', 'high'),
    x_vendor_option: json,
  },
  { requiredKeys: ['model', 'messages'] },
);

/** A broken request: a valid one with one field made wrong, or not a request at all. */
const broken = fc.oneof(
  fc
    .tuple(
      valid,
      fc.constantFrom(
        ['temperature', 'hot'],
        ['temperature', 9],
        ['n', 0],
        ['n', 1.5],
        ['messages', []],
        ['messages', [{ role: 'wizard', content: 'x' }]],
        ['messages', [{ role: 'user' }]],
        ['messages', [{ role: 'user', content: 5 }]],
        ['messages', [{ role: 'user', content: [{ text: 'no type' }] }]],
        ['messages', 'hello'],
        ['tools', 'x'],
        ['tools', [{ function: {} }]],
        ['response_format', { type: 'yaml' }],
        ['stream', 'yes'],
        ['model', ''],
        ['model', 'auto:fastest'],
        ['model', 'no-such-model'],
        ['stop', [1, 2]],
        ['presence_penalty', 5],
        ['max_tokens', 0],
        ['metadata', { k: 5 }],
        ['logit_bias', { '1': 500 }],
        ['stream_options', 'usage'],
      ) as fc.Arbitrary<[string, unknown]>,
    )
    .map(([v, [k, bad]]) => ({ ...v, [k]: bad })),
  json.filter((j) => j === null || typeof j !== 'object' || Array.isArray(j) || !('messages' in j)),
  valid.map((v) => JSON.parse(JSON.stringify(v).replace(/^\{/, '{"__proto__":{"polluted":1},')) as unknown),
);

const post = (body: unknown) =>
  fetch(`${gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** What the upstream must have received of a request: every field but those arbiter sets itself. */
function forwarded(req: Record<string, unknown>) {
  const { model: _m, stream: _s, stream_options: _o, ...rest } = req;
  return rest;
}

describe(`fuzzed chat requests (${RUNS})`, () => {
  it(
    'valid ones reach the upstream unchanged; broken ones are a coded 4xx; none is a 5xx',
    { timeout: 600_000 },
    async () => {
      const counts = { ok: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { arbitrary: valid.map((req) => ({ ok: true, req })), weight: 2 },
            { arbitrary: broken.map((req) => ({ ok: false, req })), weight: 1 },
          ),
          async ({ ok, req }) => {
            const r = await post(req);
            const what = JSON.stringify(req).slice(0, 400);
            expect(r.status, what).toBeLessThan(500);
            expect(r.status < 300, what).toBe(ok);
            if (r.status >= 400) {
              const e = ((await r.json()) as { error: { code: string; type: string; message: string } }).error;
              expect(e.code).toMatch(/^ARB_[A-Z_]+$/);
              expect(e.type).toMatch(/_error$/);
              counts.refused++;
              return;
            }
            counts.ok++;
            const v = req as Record<string, unknown>;
            let echoed: string;
            if (v.stream) {
              const sse = await r.text();
              echoed = sse
                .split('\n\n')
                .filter((l) => l.startsWith('data: {'))
                .map(
                  (l) =>
                    (JSON.parse(l.slice(6)) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta
                      ?.content ?? '',
                )
                .join('');
            } else
              echoed = ((await r.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message
                .content;
            expect(JSON.parse(echoed)).toMatchObject(JSON.parse(JSON.stringify(forwarded(v))));
          },
        ),
        { numRuns: RUNS, seed: SEED },
      );
      // both kinds were exercised
      expect(counts.ok).toBeGreaterThan(RUNS / 3);
      expect(counts.refused).toBeGreaterThan(RUNS / 10);
    },
  );
});
