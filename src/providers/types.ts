/**
 * The provider contract: an OpenAI-style chat completion, whole or streamed, from one model.
 * Requests and responses keep OpenAI's wire shapes, so the gateway passes fields through.
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer';
  content: string;
  name?: string;
}

/** The request fields arbiter understands (others are rejected by the HTTP schema). */
export interface ChatRequest {
  messages: ChatMessage[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  n?: number;
  stop?: string | string[];
  logprobs?: boolean;
  top_logprobs?: number;
  seed?: number;
  user?: string;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null };
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
    delta: { role?: string; content?: string };
    finish_reason: string | null;
    logprobs?: unknown;
  }>;
  usage?: ChatCompletion['usage'];
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
  readonly kind: 'openai' | 'replay';
  complete(req: ChatRequest, opts?: CallOptions): Promise<ChatCompletion>;
  /** Chunks in order; rejects (typed) when the stream fails, at any point. */
  stream(req: ChatRequest, opts?: CallOptions): AsyncIterable<ChatChunk>;
}
