/**
 * Native providers against local servers that speak each protocol as its public documentation
 * describes: Anthropic's Messages API (JSON and server-sent events with `event:` lines, tool_use
 * and tool_result blocks, image blocks, an error event) and Azure OpenAI (deployment path,
 * api-version, api-key header) — driven through the gateway by the openai SDK, so the
 * translation is checked both ways.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StaticEmbedder } from '../src/embed/index.js';
import { createArbiter } from '../src/index.js';
import { defaultModelDir } from '../src/paths.js';
import { toAnthropic } from '../src/providers/index.js';
import { buildGateway } from '../src/server/index.js';
import { availableBackends, startUpstream } from './helpers.js';

type Body = Record<string, unknown> & { model: string };
const seen: Array<{ url: string; headers: IncomingMessage['headers']; body: Body }> = [];
const lastSeen = () => seen.at(-1)!;

const WEATHER = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** Anthropic's Messages API, as documented: a tool_use answer when tools come and no tool_result yet. */
function messages(b: Body, res: ServerResponse): void {
  const turns = b.messages as Array<{ role: string; content: Array<{ type: string }> | string }>;
  const lastTurn = turns.at(-1)!;
  const hasResult = Array.isArray(lastTurn.content) && lastTurn.content.some((c) => c.type === 'tool_result');
  const useTool = Array.isArray(b.tools) && !hasResult;
  const text = hasResult ? 'It is sunny in Paris.' : 'Bonjour!';
  if (!b.stream) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'msg_01',
        type: 'message',
        role: 'assistant',
        model: b.model,
        content: useTool
          ? [
              { type: 'text', text: 'Let me check.' },
              { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
            ]
          : [{ type: 'text', text }],
        stop_reason: useTool ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 21, output_tokens: 9 },
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const ev = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  ev('message_start', {
    message: {
      id: 'msg_02',
      type: 'message',
      role: 'assistant',
      content: [],
      model: b.model,
      usage: { input_tokens: 21, output_tokens: 1 },
    },
  });
  ev('ping', {});
  if (useTool) {
    ev('content_block_start', {
      index: 0,
      content_block: { type: 'tool_use', id: 'toolu_02', name: 'get_weather', input: {} },
    });
    ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city": ' } });
    ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } });
    ev('content_block_stop', { index: 0 });
  } else {
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    if (JSON.stringify(turns[0]!.content).includes('fail midway')) {
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Bon' } });
      ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } });
      return void res.end();
    }
    for (const t of ['Bon', 'jour!']) ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } });
    ev('content_block_stop', { index: 0 });
  }
  ev('message_delta', {
    delta: { stop_reason: useTool ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens: 12 },
  });
  ev('message_stop', {});
  res.end();
}

let closeUpstream: () => Promise<void>;
let gateway: string;
let closeGateway: () => Promise<void>;
beforeAll(async () => {
  process.env.ARBITER_TEST_ANTHROPIC_KEY = 'sk-ant-test-key';
  process.env.ARBITER_TEST_AZURE_KEY = 'azure-test-key';
  const up = await startUpstream((b, req, res) => {
    seen.push({ url: req.url!, headers: req.headers, body: b });
    if (req.url === '/v1/messages') return messages(b, res);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'az',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o',
        choices: [{ index: 0, message: { role: 'assistant', content: 'from azure' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }),
    );
  });
  closeUpstream = up.close;
  const root = up.baseUrl.replace(/\/v1$/, '');
  const backend = availableBackends()[0]!;
  const arbiter = await createArbiter(
    {
      models: [
        {
          id: 'claude',
          provider: {
            kind: 'anthropic',
            baseUrl: up.baseUrl,
            apiKeyEnv: 'ARBITER_TEST_ANTHROPIC_KEY',
            upstreamModel: 'claude-sonnet-4-5',
            retries: 0,
          },
          cost: { inputPer1k: 0.003, outputPer1k: 0.015 },
        },
        {
          id: 'azure-4o',
          provider: {
            kind: 'azure',
            baseUrl: root,
            apiVersion: '2024-10-21',
            apiKeyEnv: 'ARBITER_TEST_AZURE_KEY',
            upstreamModel: 'my-deployment',
            retries: 0,
          },
          cost: { inputPer1k: 0.0025, outputPer1k: 0.01 },
        },
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

describe('the Anthropic provider (Messages API)', () => {
  it('translates a tool round trip both ways, with the system prompt, key and version headers', async () => {
    const msgs: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is the weather in Paris?' },
    ];
    const first = await client().chat.completions.create({
      model: 'claude',
      messages: msgs,
      tools: [WEATHER],
      tool_choice: 'required',
    });
    const sent = lastSeen();
    expect(sent.url).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe('sk-ant-test-key');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 4096,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris?' }] }],
      tools: [{ name: 'get_weather', description: 'The weather in a city', input_schema: WEATHER.function.parameters }],
      tool_choice: { type: 'any' },
    });
    const m = first.choices[0]!.message;
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(m.content).toBe('Let me check.');
    expect(m.tool_calls).toEqual([
      { id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ]);
    expect(first.usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 9, total_tokens: 30 });
    msgs.push(m, { role: 'tool', tool_call_id: 'toolu_01', content: '{"sky":"sunny"}' });
    const second = await client().chat.completions.create({ model: 'claude', messages: msgs, tools: [WEATHER] });
    expect(second.choices[0]!.message.content).toBe('It is sunny in Paris.');
    expect((lastSeen().body.messages as unknown[]).slice(1)).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: '{"sky":"sunny"}' }] },
    ]);
  });

  it('streams text, tool-call deltas, finish reasons and usage; an error event breaks the stream', async () => {
    const s = await client().chat.completions.create({
      model: 'claude',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Say hello in French.' }],
    });
    let text = '';
    let finish = '';
    let usage: unknown;
    for await (const ch of s) {
      text += ch.choices[0]?.delta?.content ?? '';
      finish ||= ch.choices[0]?.finish_reason ?? '';
      if (ch.usage) usage = ch.usage;
    }
    expect([text, finish]).toEqual(['Bonjour!', 'stop']);
    expect(usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 12, total_tokens: 33 });
    expect(lastSeen().body.stream).toBe(true);
    const t = await client().chat.completions.create({
      model: 'claude',
      stream: true,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [WEATHER],
    });
    let args = '';
    let name = '';
    finish = '';
    for await (const ch of t) {
      const d = ch.choices[0];
      name ||= d?.delta?.tool_calls?.[0]?.function?.name ?? '';
      args += d?.delta?.tool_calls?.[0]?.function?.arguments ?? '';
      finish ||= d?.finish_reason ?? '';
    }
    expect([name, JSON.parse(args), finish]).toEqual(['get_weather', { city: 'Paris' }, 'tool_calls']);
    const broken = await client().chat.completions.create({
      model: 'claude',
      stream: true,
      messages: [{ role: 'user', content: 'fail midway' }],
    });
    const got = await (async () => {
      let seenText = '';
      try {
        for await (const ch of broken) seenText += ch.choices[0]?.delta?.content ?? '';
      } catch (e) {
        return { seenText, error: e };
      }
      return { seenText, error: undefined };
    })();
    expect(got.seenText).toBe('Bon');
    expect(String((got.error as Error | undefined)?.message)).toMatch(/ARB_STREAM_INTERRUPTED|stream/i);
  });

  it('images become base64 or URL image blocks; n > 1 and parts it cannot carry are 400s', async () => {
    await client().chat.completions.create({
      model: 'claude',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    expect((lastSeen().body.messages as Array<{ content: unknown }>)[0]!.content).toEqual([
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
    const before = seen.length;
    const two = await client()
      .chat.completions.create({ model: 'claude', n: 2, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(two).toMatchObject({ status: 400 });
    expect(seen.length).toBe(before); // refused before anything was sent
    expect(() =>
      toAnthropic({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }, 'm', false),
    ).toThrow(/input_audio has no Anthropic equivalent/);
  });
});

describe('the Azure OpenAI provider', () => {
  it('posts to the deployment with api-version and the api-key header', async () => {
    const r = await client().chat.completions.create({
      model: 'azure-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.choices[0]!.message.content).toBe('from azure');
    const sent = lastSeen();
    expect(sent.url).toBe('/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21');
    expect(sent.headers['api-key']).toBe('azure-test-key');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body.model).toBeUndefined(); // the deployment names the model
  });
});
