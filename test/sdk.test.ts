/**
 * Real clients against the gateway over HTTP: the official `openai` SDK, the Vercel AI SDK
 * (`ai` + `@ai-sdk/openai-compatible`) and LangChain (`@langchain/openai`). The upstream is a
 * local server speaking the chat-completions API that records what it received, so each test
 * checks both what the client got and that the fields reached the upstream unchanged.
 */
import type { ServerResponse } from 'node:http';

import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { HumanMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { APICallError, generateObject, generateText, jsonSchema, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StaticEmbedder } from '../src/embed/index.js';
import { createArbiter } from '../src/index.js';
import { defaultModelDir } from '../src/paths.js';
import { buildGateway } from '../src/server/index.js';
import { availableBackends, startUpstream } from './helpers.js';

type Body = { model: string; stream?: boolean } & Record<string, unknown>;
const received: Body[] = [];
const last = () => received.at(-1)!;

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** What the upstream answers: a tool call when tools are offered and no tool result came back yet. */
function reply(b: Body): { content: string | null; tool_calls?: unknown[] } {
  const msgs = b.messages as Array<{ role: string }>;
  if (b.tools && msgs.at(-1)!.role !== 'tool')
    return {
      content: null,
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      ],
    };
  if ((b.response_format as { type?: string } | undefined)?.type === 'json_object') return { content: '{"ok":true}' };
  if (msgs.at(-1)!.role === 'tool') return { content: 'It is sunny in Paris.' };
  return { content: 'Hello from upstream.' };
}

function stream(b: Body, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
  const base = { id: 'up', object: 'chat.completion.chunk', created: 1, model: b.model };
  const r = reply(b);
  const n = (b.n as number | undefined) ?? 1;
  for (let index = 0; index < n; index++) {
    send({ ...base, choices: [{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    if (r.tool_calls) {
      const call = r.tool_calls[0] as { id: string; function: { name: string; arguments: string } };
      send({
        ...base,
        choices: [
          {
            index,
            delta: {
              tool_calls: [
                { index: 0, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } },
              ],
            },
            finish_reason: null,
          },
        ],
      });
      send({
        ...base,
        choices: [
          {
            index,
            delta: { tool_calls: [{ index: 0, function: { arguments: call.function.arguments } }] },
            finish_reason: null,
          },
        ],
      });
      send({ ...base, choices: [{ index, delta: {}, finish_reason: 'tool_calls' }] });
    } else {
      for (const piece of [`${r.content!.slice(0, 6)}`, `${r.content!.slice(6)} #${index}`])
        send({ ...base, choices: [{ index, delta: { content: piece }, finish_reason: null }] });
      send({ ...base, choices: [{ index, delta: {}, finish_reason: 'stop' }] });
    }
  }
  // `quiet` is an upstream that never sends usage, whatever it is asked
  if ((b.stream_options as { include_usage?: boolean } | undefined)?.include_usage && b.model !== 'quiet')
    send({ ...base, choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } });
  res.end('data: [DONE]\n\n');
}

let baseUrl: string;
let closeUpstream: () => Promise<void>;
let gateway: string;
let closeGateway: () => Promise<void>;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream((b, _req, res) => {
    received.push(b);
    if (b.stream) return stream(b, res);
    const r = reply(b);
    const n = (b.n as number | undefined) ?? 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'up',
        object: 'chat.completion',
        created: 1,
        model: b.model,
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          message: { role: 'assistant', ...r },
          finish_reason: r.tool_calls ? 'tool_calls' : 'stop',
        })),
        usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
      }),
    );
  }));
  const backend = availableBackends()[0]!;
  const arbiter = await createArbiter(
    {
      models: [
        {
          id: 'gpt-upstream',
          provider: { kind: 'openai', baseUrl, retries: 0 },
          cost: { inputPer1k: 0.001, outputPer1k: 0.002 },
          capabilities: ['tools', 'json', 'vision', 'streaming'],
        },
        { id: 'quiet', provider: { kind: 'openai', baseUrl, retries: 0 }, cost: { inputPer1k: 0.5, outputPer1k: 0.5 } },
      ],
    },
    { backend, embedder: await StaticEmbedder.load(defaultModelDir(), backend) },
  );
  const app = await buildGateway({ arbiter });
  gateway = `${await app.listen({ host: '127.0.0.1', port: 0 })}/v1`;
  closeGateway = () => app.close();
});
afterAll(async () => {
  await closeGateway();
  await closeUpstream();
});

const client = () => new OpenAI({ baseURL: gateway, apiKey: 'unused', maxRetries: 0 });

describe('the openai SDK', () => {
  it('JSON chat: the answer, its id as x-request-id, usage', async () => {
    const r = await client()
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Say hello.' }] })
      .withResponse();
    expect(r.data.choices[0]!.message.content).toBe('Hello from upstream.');
    expect(r.response.headers.get('x-request-id')).toBe(r.data.id);
    expect(r.data.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7 });
    expect(last().model).toBe('gpt-upstream');
  });

  it('streaming: the usage chunk exactly when include_usage asks for it', async () => {
    const withUsage = await client().chat.completions.create({
      model: 'auto',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Say hello.' }],
    });
    let text = '';
    let usage: unknown;
    for await (const ch of withUsage) {
      text += ch.choices[0]?.delta?.content ?? '';
      if (ch.usage) usage = ch.usage;
    }
    expect(text).toBe('Hello from upstream. #0');
    expect(usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    const without = await client().chat.completions.create({
      model: 'auto',
      stream: true,
      messages: [{ role: 'user', content: 'Say hello.' }],
    });
    for await (const ch of without) expect(ch.usage ?? null).toBeNull();
    // an upstream that sends no usage: the client asked, so arbiter makes one from the lengths
    const quiet = await client().chat.completions.create({
      model: 'quiet',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Say hello.' }],
    });
    const chunks = [];
    for await (const ch of quiet) chunks.push(ch);
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: 6 });
  });

  it('a tool-call round trip, JSON and streaming, with the fields reaching the upstream unchanged', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await client().chat.completions.create({
      model: 'auto',
      messages,
      tools: [WEATHER_TOOL as OpenAI.ChatCompletionTool],
      tool_choice: 'auto',
      parallel_tool_calls: false,
    });
    expect(last()).toMatchObject({ tools: [WEATHER_TOOL], tool_choice: 'auto', parallel_tool_calls: false });
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '{"sky":"sunny"}' });
    const second = await client().chat.completions.create({
      model: 'auto',
      messages,
      tools: [WEATHER_TOOL as OpenAI.ChatCompletionTool],
    });
    expect(second.choices[0]!.message.content).toBe('It is sunny in Paris.');
    expect((last().messages as unknown[]).slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '{"sky":"sunny"}' },
    ]);
    // streamed: the tool call arrives as deltas
    const s = await client().chat.completions.create({
      model: 'auto',
      stream: true,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [WEATHER_TOOL as OpenAI.ChatCompletionTool],
    });
    let args = '';
    let name = '';
    let finish = '';
    for await (const ch of s) {
      const d = ch.choices[0];
      name ||= d?.delta?.tool_calls?.[0]?.function?.name ?? '';
      args += d?.delta?.tool_calls?.[0]?.function?.arguments ?? '';
      finish ||= d?.finish_reason ?? '';
    }
    expect([name, JSON.parse(args), finish]).toEqual(['get_weather', { city: 'Paris' }, 'tool_calls']);
  });

  it('JSON mode, content parts with an image, and the other request fields pass through', async () => {
    const r = await client().chat.completions.create({
      model: 'auto',
      response_format: { type: 'json_object' },
      max_completion_tokens: 50,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      logit_bias: { '50256': -100 },
      seed: 7,
      metadata: { team: 'search' },
      reasoning_effort: 'low',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Describe this image as JSON.' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    expect(JSON.parse(r.choices[0]!.message.content!)).toEqual({ ok: true });
    expect(r.model).toBe('gpt-upstream'); // the one model that takes images (quiet is cheaper)
    expect(last()).toMatchObject({
      response_format: { type: 'json_object' },
      max_completion_tokens: 50,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      logit_bias: { '50256': -100 },
      seed: 7,
      metadata: { team: 'search' },
      reasoning_effort: 'low',
    });
    expect((last().messages as Array<{ content: unknown }>)[0]!.content).toEqual([
      { type: 'text', text: 'Describe this image as JSON.' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
    ]);
  });

  it('n: 2 streaming relays every choice index', async () => {
    const s = await client().chat.completions.create({
      model: 'auto',
      stream: true,
      n: 2,
      messages: [{ role: 'user', content: 'Say hello.' }],
    });
    const texts: string[] = ['', ''];
    for await (const ch of s) for (const c of ch.choices) texts[c.index] += c.delta?.content ?? '';
    expect(texts).toEqual(['Hello from upstream. #0', 'Hello from upstream. #1']);
  });

  it('the arbiter extension through the extra body, and errors as the SDK typed errors', async () => {
    const r = await client().chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'Say hello.' }],
      // @ts-expect-error: arbiter's own extension, sent as an extra body field
      arbiter: { strategy: 'best_of_n', n: 2 },
    });
    expect(r.choices[0]!.message.content).toBe('Hello from upstream.');
    const missing = await client()
      .chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toMatchObject({ status: 404, type: 'not_found_error', code: 'ARB_NOT_FOUND', param: 'model' });
    const bad = await client()
      .chat.completions.create({ model: 'auto', messages: [], temperature: 9 })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad).toMatchObject({ status: 400, type: 'invalid_request_error', code: 'ARB_INVALID_REQUEST' });
  });

  it('legacy completions, JSON and streamed, through the chat models', async () => {
    const r = await client().completions.create({ model: 'auto', prompt: 'Say hello.', max_tokens: 20 });
    expect(r.object).toBe('text_completion');
    expect(r.choices.map((c) => [c.index, c.text])).toEqual([[0, 'Hello from upstream.']]);
    expect(last()).toMatchObject({ max_tokens: 20, messages: [{ role: 'user', content: 'Say hello.' }] });
    const two = await client().completions.create({ model: 'auto', prompt: ['Say hello.', 'Say hello again.'] });
    expect(two.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(two.usage?.total_tokens).toBe(36);
    const s = await client().completions.create({ model: 'auto', prompt: 'Say hello.', stream: true });
    let text = '';
    for await (const ch of s) text += ch.choices[0]?.text ?? '';
    expect(text).toBe('Hello from upstream. #0');
    const echo = await client()
      .completions.create({ model: 'auto', prompt: 'x', echo: true })
      .catch((e: unknown) => e);
    expect(echo).toMatchObject({ status: 400, param: 'echo' });
  });

  it("embeddings from arbiter's own embedder, as floats and as base64 (the SDK's default)", async () => {
    const backend = availableBackends()[0]!;
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const texts = ['binary search in Rust', 'the capital of France'];
    const want = await embedder.embed(texts);
    const viaSdk = await client().embeddings.create({ model: 'arbiter-static', input: texts }); // base64 on the wire
    const viaFloat = await client().embeddings.create({
      model: 'arbiter-static',
      input: texts,
      encoding_format: 'float',
    });
    for (const r of [viaSdk, viaFloat]) {
      expect(r.data.map((d) => d.index)).toEqual([0, 1]);
      r.data.forEach((d, i) => {
        expect(d.embedding).toHaveLength(embedder.dim);
        d.embedding.forEach((x, j) =>
          expect(Math.abs(x - want[i * embedder.dim + j]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(x))),
        );
      });
    }
    const other = await client()
      .embeddings.create({ model: 'text-embedding-3-small', input: 'x' })
      .catch((e: unknown) => e);
    expect(other).toMatchObject({ status: 404, code: 'ARB_NOT_FOUND' });
  });

  it('lists models shaped as OpenAI lists them', async () => {
    const ids: string[] = [];
    for await (const m of client().models.list()) {
      expect(m).toMatchObject({ object: 'model', created: expect.any(Number), owned_by: expect.any(String) });
      ids.push(m.id);
    }
    expect(ids).toContain('auto');
    expect(ids).toContain('gpt-upstream');
    expect(ids).toContain('arbiter-static');
  });
});

describe('the Vercel AI SDK', () => {
  const provider = () =>
    createOpenAICompatible({ name: 'arbiter', baseURL: gateway, apiKey: 'unused', includeUsage: true });

  it('generateText, streamText with usage, and a tool call', async () => {
    const g = await generateText({ model: provider()('auto'), prompt: 'Say hello.', maxRetries: 0 });
    expect(g.text).toBe('Hello from upstream.');
    expect(g.usage.inputTokens).toBe(11);
    const s = streamText({ model: provider()('auto'), prompt: 'Say hello.', maxRetries: 0 });
    let text = '';
    for await (const piece of s.textStream) text += piece;
    expect(text).toBe('Hello from upstream. #0');
    expect((await s.usage).outputTokens).toBe(7);
    expect(last().stream_options).toEqual({ include_usage: true });
    const t = await generateText({
      model: provider()('auto'),
      prompt: 'What is the weather in Paris?',
      maxRetries: 0,
      tools: {
        get_weather: tool({
          description: 'The weather in a city',
          inputSchema: jsonSchema<{ city: string }>({
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          }),
        }),
      },
    });
    expect(t.toolCalls.map((c) => [c.toolName, c.input])).toEqual([['get_weather', { city: 'Paris' }]]);
  });

  it('JSON mode (generateObject), an image part and an extra body field (the arbiter extension) pass through', async () => {
    const o = await generateObject({
      model: provider()('auto'),
      maxRetries: 0,
      schema: jsonSchema<{ ok: boolean }>({
        type: 'object',
        properties: { ok: { type: 'boolean' } },
        required: ['ok'],
      }),
      prompt: 'Answer as JSON.',
    });
    expect(o.object).toEqual({ ok: true });
    expect((last().response_format as { type: string }).type).toBe('json_object');
    const before = received.length;
    await generateText({
      model: provider()('auto'),
      maxRetries: 0,
      providerOptions: { arbiter: { arbiter: { strategy: 'best_of_n', n: 2 } } },
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image', image: new URL('data:image/png;base64,iVBORw0KGgo=') },
          ],
        },
      ],
    });
    expect(received.length - before).toBe(2); // the extension ran: best_of_n made two calls
    const parts = (last().messages as Array<{ content: Array<{ type: string }> }>)[0]!.content;
    expect(parts.map((p) => p.type)).toEqual(['text', 'image_url']); // the image reached the upstream
  });

  it('errors surface as APICallError with the status', async () => {
    const e = await generateText({ model: provider()('no-such-model'), prompt: 'x', maxRetries: 0 }).catch(
      (x: unknown) => x,
    );
    expect(APICallError.isInstance(e)).toBe(true);
    expect((e as APICallError).statusCode).toBe(404);
  });
});

describe('LangChain (@langchain/openai)', () => {
  const chat = (extra: Record<string, unknown> = {}) =>
    new ChatOpenAI({ model: 'auto', apiKey: 'unused', configuration: { baseURL: gateway }, maxRetries: 0, ...extra });

  it('invoke, stream and a bound tool', async () => {
    const r = await chat().invoke('Say hello.');
    expect(r.content).toBe('Hello from upstream.');
    let text = '';
    for await (const ch of await chat({ streamUsage: true }).stream('Say hello.')) text += String(ch.content);
    expect(text).toBe('Hello from upstream. #0');
    const withTool = chat().bindTools([WEATHER_TOOL]);
    const t = await withTool.invoke('What is the weather in Paris?');
    expect(t.tool_calls?.map((c) => [c.name, c.args])).toEqual([['get_weather', { city: 'Paris' }]]);
  });

  it('JSON mode, n: 2, an image part, the arbiter extension through modelKwargs, and typed errors', async () => {
    const json = await chat({ modelKwargs: { response_format: { type: 'json_object' } } }).invoke('Answer as JSON.');
    expect(JSON.parse(String(json.content))).toEqual({ ok: true });
    const two = await chat({ n: 2 }).generate([[new HumanMessage('Say hello.')]]);
    expect(two.generations[0]!.map((g) => g.text)).toEqual(['Hello from upstream.', 'Hello from upstream.']);
    await chat().invoke([
      new HumanMessage({
        content: [
          { type: 'text', text: 'What is in this picture?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      }),
    ]);
    expect((last().messages as Array<{ content: Array<{ type: string }> }>)[0]!.content.map((p) => p.type)).toEqual([
      'text',
      'image_url',
    ]);
    const before = received.length;
    await chat({ modelKwargs: { arbiter: { strategy: 'best_of_n', n: 2 } } }).invoke('Say hello.');
    expect(received.length - before).toBe(2); // best_of_n made two calls
    const e = await chat({ model: 'no-such-model' })
      .invoke('x')
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ status: 404 });
  });
});
