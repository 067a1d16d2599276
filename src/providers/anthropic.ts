/**
 * Anthropic's Messages API (POST {baseUrl}/v1/messages, `x-api-key`, `anthropic-version`), spoken
 * natively: an OpenAI-shaped chat request becomes a Messages request — system and developer
 * messages the `system` text, content parts blocks (images from data or http URLs), assistant
 * tool calls `tool_use` blocks, tool messages `tool_result` blocks in a user turn, same-role turns
 * merged, tools and tool_choice translated — and the answer, whole or streamed (message_start,
 * content_block_*, message_delta, message_stop), comes back as a chat completion or chunks:
 * text, tool calls (with their argument deltas), finish reasons and usage.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import { textOf } from './messages.js';
import type { Wire } from './openai.js';
import type { ChatChunk, ChatCompletion, ChatMessage, ChatRequest } from './types.js';

export const ANTHROPIC_VERSION = '2023-06-01';
/** max_tokens is required by the Messages API: this when the request does not say. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

type Block = Record<string, unknown> & { type: string };

const STOP: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
  pause_turn: 'stop',
};

/** An image part's source: base64 from a data URL, else the URL itself. */
function imageBlock(url: string): Block {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m
    ? { type: 'image', source: { type: 'base64', media_type: m[1], data: m[2] } }
    : { type: 'image', source: { type: 'url', url } };
}

function blocks(content: ChatMessage['content']): Block[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) return [];
  return content.flatMap((p): Block[] => {
    if (p?.type === 'text' && typeof p.text === 'string') return [{ type: 'text', text: p.text }];
    const img = (p as { image_url?: { url?: unknown } }).image_url;
    if (p?.type === 'image_url' && typeof img?.url === 'string') return [imageBlock(img.url)];
    throw new ArbiterError(ErrorCodes.INVALID_REQUEST, `content part ${String(p?.type)} has no Anthropic equivalent`, {
      param: 'messages',
    });
  });
}

function toolUse(call: unknown): Block {
  const c = call as { id?: string; function?: { name?: string; arguments?: string } };
  let input: unknown;
  try {
    input = c.function?.arguments ? JSON.parse(c.function.arguments) : {};
  } catch {
    input = { arguments: c.function?.arguments };
  }
  return { type: 'tool_use', id: c.id, name: c.function?.name, input };
}

/** The Messages request for an OpenAI-shaped chat request. */
export function toAnthropic(req: ChatRequest, model: string, stream: boolean): Record<string, unknown> {
  if ((req.n ?? 1) > 1)
    throw new ArbiterError(ErrorCodes.INVALID_REQUEST, 'n > 1: the Messages API answers one choice a request', {
      param: 'n',
    });
  const system: string[] = [];
  const turns: Array<{ role: 'user' | 'assistant'; content: Block[] }> = [];
  const push = (role: 'user' | 'assistant', content: Block[]) => {
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...content);
    else turns.push({ role, content });
  };
  for (const m of req.messages) {
    if (m.role === 'system' || m.role === 'developer') system.push(textOf(m.content));
    else if (m.role === 'tool' || m.role === 'function')
      push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id ?? m.name, content: textOf(m.content) }]);
    else if (m.role === 'assistant')
      push('assistant', [...blocks(m.content), ...(Array.isArray(m.tool_calls) ? m.tool_calls.map(toolUse) : [])]);
    else push('user', blocks(m.content));
  }
  const tools = Array.isArray(req.tools)
    ? (req.tools as Array<{ function?: { name?: string; description?: string; parameters?: unknown } }>).map((t) => ({
        name: t.function?.name,
        ...(t.function?.description ? { description: t.function.description } : {}),
        input_schema: t.function?.parameters ?? { type: 'object', properties: {} },
      }))
    : undefined;
  const choice = req.tool_choice as string | { function?: { name?: string } } | undefined;
  const toolChoice =
    choice === undefined
      ? undefined
      : choice === 'required'
        ? { type: 'any' }
        : typeof choice === 'string'
          ? { type: choice }
          : { type: 'tool', name: choice.function?.name };
  const stop = req.stop === undefined || req.stop === null ? undefined : [req.stop].flat();
  return {
    model,
    max_tokens: req.max_tokens ?? req.max_completion_tokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    ...(system.length ? { system: system.join('\n\n') } : {}),
    messages: turns,
    ...(req.temperature !== undefined ? { temperature: Math.min(1, req.temperature) } : {}),
    ...(req.top_p !== undefined ? { top_p: req.top_p } : {}),
    ...(stop?.length ? { stop_sequences: stop } : {}),
    ...(tools?.length ? { tools } : {}),
    ...(toolChoice
      ? {
          tool_choice: {
            ...toolChoice,
            ...(req.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {}),
          },
        }
      : {}),
    ...(req.user ? { metadata: { user_id: req.user } } : {}),
    ...(stream ? { stream: true } : {}),
  };
}

interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}
const promptTokensOf = (u: Usage | undefined) =>
  (u?.input_tokens ?? 0) + (u?.cache_creation_input_tokens ?? 0) + (u?.cache_read_input_tokens ?? 0);

/** A Messages response as a chat completion, or what is wrong with it. */
export function fromAnthropic(body: unknown, model: string): ChatCompletion | string {
  const b = body as { id?: string; content?: Block[]; stop_reason?: string; usage?: Usage } | null;
  if (!b || typeof b !== 'object' || !Array.isArray(b.content)) return 'response has no content';
  const text = b.content.filter((x) => x.type === 'text').map((x) => String(x.text ?? ''));
  const calls = b.content
    .filter((x) => x.type === 'tool_use')
    .map((x) => ({ id: x.id, type: 'function', function: { name: x.name, arguments: JSON.stringify(x.input ?? {}) } }));
  const pt = promptTokensOf(b.usage);
  const ct = b.usage?.output_tokens ?? 0;
  return {
    id: b.id ?? 'anthropic',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text.length ? text.join('') : null,
          ...(calls.length ? { tool_calls: calls } : {}),
        },
        finish_reason: STOP[b.stop_reason ?? ''] ?? 'stop',
      },
    ],
    usage: { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct },
  };
}

/** A translator for one Messages stream: each event's data → chat chunks. */
export function anthropicStream(model: string): (data: string) => { chunks: ChatChunk[]; done: boolean } | string {
  let id = 'anthropic';
  const created = Math.floor(Date.now() / 1000);
  let prompt = 0;
  let completion = 0;
  const toolIndex = new Map<number, number>(); // content block index → tool call index
  const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: string | null = null): ChatChunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  return (data) => {
    let e: Record<string, unknown> & { type?: string };
    try {
      e = JSON.parse(data) as typeof e;
    } catch {
      return 'malformed stream event';
    }
    switch (e.type) {
      case 'message_start': {
        const m = e.message as { id?: string; usage?: Usage } | undefined;
        id = m?.id ?? id;
        prompt = promptTokensOf(m?.usage);
        completion = m?.usage?.output_tokens ?? 0;
        return { chunks: [chunk({ role: 'assistant', content: '' })], done: false };
      }
      case 'content_block_start': {
        const b = e.content_block as Block | undefined;
        if (b?.type !== 'tool_use') return { chunks: [], done: false };
        const index = toolIndex.size;
        toolIndex.set(Number(e.index), index);
        const call = { index, id: b.id, type: 'function', function: { name: b.name, arguments: '' } };
        return { chunks: [chunk({ tool_calls: [call] })], done: false };
      }
      case 'content_block_delta': {
        const d = e.delta as { type?: string; text?: string; partial_json?: string } | undefined;
        if (d?.type === 'text_delta') return { chunks: [chunk({ content: d.text ?? '' })], done: false };
        if (d?.type === 'input_json_delta') {
          const index = toolIndex.get(Number(e.index)) ?? 0;
          return {
            chunks: [chunk({ tool_calls: [{ index, function: { arguments: d.partial_json ?? '' } }] })],
            done: false,
          };
        }
        return { chunks: [], done: false }; // thinking and signature deltas have no chat equivalent
      }
      case 'message_delta': {
        const d = e.delta as { stop_reason?: string } | undefined;
        const u = e.usage as Usage | undefined;
        if (u?.output_tokens !== undefined) completion = u.output_tokens;
        if (u?.input_tokens !== undefined) prompt = promptTokensOf(u);
        return { chunks: [chunk({}, STOP[d?.stop_reason ?? ''] ?? 'stop')], done: false };
      }
      case 'message_stop':
        return {
          chunks: [
            {
              id,
              object: 'chat.completion.chunk',
              created,
              model,
              choices: [],
              usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
            },
          ],
          done: true,
        };
      case 'error':
        return `upstream error event (${String((e.error as { type?: string } | undefined)?.type ?? 'unknown')})`;
      default:
        return { chunks: [], done: false }; // ping, content_block_stop
    }
  };
}

export const anthropicWire: Wire = {
  kind: 'anthropic',
  url: (baseUrl) => new URL(`${baseUrl.replace(/\/+$/, '')}/messages`),
  headers: (apiKey): Record<string, string> => ({
    'anthropic-version': ANTHROPIC_VERSION,
    ...(apiKey ? { 'x-api-key': apiKey } : {}),
  }),
  body: toAnthropic,
  completion: fromAnthropic,
  stream: anthropicStream,
};
