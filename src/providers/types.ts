/**
 * The provider contract: an OpenAI-style chat completion, whole or streamed, from one model.
 * Requests and responses keep OpenAI's wire shapes, so the gateway passes fields through.
 */

/** A part of a message's content: text, or an image, audio or file part (passed through as sent). */
export type ContentPart = { type: 'text'; text: string } | { type: string; [key: string]: unknown };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer' | 'function';
  /** Text, content parts, or null (an assistant message that only calls tools). */
  content: string | ContentPart[] | null;
  name?: string;
  /** An assistant message's tool calls. */
  tool_calls?: unknown[];
  /** A tool message: the call it answers. */
  tool_call_id?: string;
  /** Fields arbiter does not read are passed through unchanged. */
  [key: string]: unknown;
}

/**
 * A chat request: the fields arbiter reads, typed; every other field of the OpenAI request
 * (tools, response_format, stream_options, penalties, …) passed through to the upstream unchanged.
 */
export interface ChatRequest {
  messages: ChatMessage[];
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  n?: number;
  stop?: string | string[];
  logprobs?: boolean;
  top_logprobs?: number;
  seed?: number;
  user?: string;
  tools?: unknown[];
  tool_choice?: unknown;
  response_format?: { type: string; [key: string]: unknown };
  stream_options?: { include_usage?: boolean; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: unknown[]; [key: string]: unknown };
    finish_reason: string | null;
    logprobs?: unknown;
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: string; content?: string | null; tool_calls?: unknown[]; [key: string]: unknown };
    finish_reason: string | null;
    logprobs?: unknown;
  }>;
  usage?: ChatCompletion['usage'];
  /**
   * Pipeline progress (`phase plan ok`): such a chunk has no choices, and the gateway sends it as
   * an SSE comment line, which SDKs skip — never as data.
   */
  progress?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Time to the response headers (non-streaming: to the whole body) — per attempt. */
  timeoutMs?: number;
  /** Streaming: time from the request to the first chunk. */
  firstTokenMs?: number;
  /** Streaming: the longest silence between chunks after the first. */
  idleMs?: number;
  /** Streaming: the whole stream's limit. */
  totalMs?: number;
}

export interface Provider {
  readonly kind: 'openai' | 'azure' | 'anthropic' | 'replay' | 'rules';
  complete(req: ChatRequest, opts?: CallOptions): Promise<ChatCompletion>;
  /** Chunks in order; rejects (typed) when the stream fails, at any point. */
  stream(req: ChatRequest, opts?: CallOptions): AsyncIterable<ChatChunk>;
}
