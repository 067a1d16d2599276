/**
 * Any OpenAI-compatible `/v1/chat/completions` endpoint (vLLM, llama.cpp server, Ollama, hosted
 * APIs) over node:http(s) with keep-alive agents and TCP_NODELAY: whole responses and SSE streams.
 * (Node 20's fetch added 2–50 ms per call under concurrent load on loopback in our measurements;
 * a plain keep-alive request adds well under one.) Failures are typed so the gateway can
 * decide what to do: ARB_RATE_LIMITED (429, with Retry-After), ARB_UPSTREAM_ERROR (5xx, refused or
 * reset connections, malformed bodies; `status` when there was one), ARB_UPSTREAM_TIMEOUT.
 * The API key comes from the environment variable the config names; it is never logged or echoed.
 */
import type { IncomingMessage } from 'node:http';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { redactSecrets } from '../text.js';
import {
  cancelled,
  ConnectTimeout,
  deadline,
  ERROR_BODY_CHARS,
  ERROR_DETAIL_CHARS,
  MAX_EVENT_CHARS,
  nextWithin,
  readAll,
  retryAfterMs,
  send,
  StreamLimit,
  TooLarge,
  upstream,
} from './http.js';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_STREAM_IDLE_MS, DEFAULT_STREAM_TOTAL_MS } from './limits.js';
import { SseReader } from './sse.js';
import type { CallOptions, ChatChunk, ChatCompletion, ChatRequest, Provider } from './types.js';

export { cancelled, retryAfterMs } from './http.js';

/**
 * How one API speaks: where to post, its headers, the request body made from an OpenAI-shaped
 * chat request, and its answers — whole or streamed — back in OpenAI's shape.
 */
export interface Wire {
  readonly kind: 'openai' | 'azure' | 'anthropic';
  url(baseUrl: string, model: string): URL;
  headers(apiKey: string | undefined): Record<string, string>;
  body(req: ChatRequest, model: string, stream: boolean): unknown;
  /** The completion in OpenAI's shape, or what is wrong with the body. */
  completion(body: unknown, model: string): ChatCompletion | string;
  /** A translator for one stream: each event's data → chunks, whether it ended, or what is wrong. */
  stream(model: string): (data: string) => { chunks: ChatChunk[]; done: boolean } | string;
}

/** OpenAI's own: POST {baseUrl}/chat/completions, Bearer key, bodies as they are. */
export const openaiWire: Wire = {
  kind: 'openai',
  url: (baseUrl) => new URL(`${baseUrl.replace(/\/+$/, '')}/chat/completions`),
  headers: (apiKey): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
  body: (req, model, stream) => ({
    ...req,
    model,
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  }),
  completion: (body) => invalidCompletion(body) ?? (body as ChatCompletion),
  stream: () => (data) => {
    if (data === '[DONE]') return { chunks: [], done: true };
    const chunk = parseChunk(data);
    if (!chunk) return 'malformed stream event';
    if (chunk.error) return 'upstream error event';
    return { chunks: [chunk], done: false };
  },
};

/** Azure OpenAI: the deployment in the path, `api-version` in the query, the key in `api-key`. */
export function azureWire(apiVersion: string): Wire {
  return {
    ...openaiWire,
    kind: 'azure',
    url: (baseUrl, deployment) =>
      new URL(
        `${baseUrl.replace(/\/+$/, '')}/openai/deployments/${encodeURIComponent(deployment)}/chat/completions?api-version=${encodeURIComponent(apiVersion)}`,
      ),
    headers: (apiKey): Record<string, string> => (apiKey ? { 'api-key': apiKey } : {}),
    body: (req, _model, stream) => ({ ...req, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
  };
}

export interface OpenAIProviderOptions {
  baseUrl: string;
  /** The API it speaks (default: OpenAI's). */
  wire?: Wire;
  /** The model name upstream (default: the arbiter model id). */
  model: string;
  apiKey?: string;
  /** To an open connection (a fresh one; a reused keep-alive socket is already open). Default 5 s. */
  connectTimeoutMs?: number;
  /** The largest response body, or whole stream, read (characters of UTF-8 text). Default 8 MiB. */
  maxResponseBytes?: number;
}

/** What is wrong with a completion body, or undefined: it must have a choice with a message. */
export function invalidCompletion(body: unknown): string | undefined {
  const b = body as { choices?: unknown } | null;
  if (!b || typeof b !== 'object' || !Array.isArray(b.choices)) return 'response has no choices';
  if (b.choices.length === 0) return 'response has an empty choices array';
  const m = (b.choices[0] as { message?: unknown } | null)?.message as { content?: unknown } | null | undefined;
  if (!m || typeof m !== 'object') return 'response has no message';
  if (m.content !== undefined && m.content !== null && typeof m.content !== 'string')
    return 'response message content is not text';
  return undefined;
}

/** A stream event's JSON, or undefined when it is not a JSON object. */
function parseChunk(data: string): (ChatChunk & { error?: unknown }) | undefined {
  try {
    const v = JSON.parse(data) as unknown;
    return v && typeof v === 'object' ? (v as ChatChunk & { error?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

export class OpenAIProvider implements Provider {
  readonly kind: Wire['kind'];
  private readonly url: URL;
  private readonly maxChars: number;
  private readonly wire: Wire;

  constructor(private readonly o: OpenAIProviderOptions) {
    this.wire = o.wire ?? openaiWire;
    this.kind = this.wire.kind;
    this.url = this.wire.url(o.baseUrl, o.model);
    this.maxChars = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:')
      throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `baseUrl must be http(s), got ${o.baseUrl}`, {
        param: 'provider.baseUrl',
      });
  }

  private async post(
    req: ChatRequest,
    stream: boolean,
    signal: AbortSignal,
    isTimeout: () => boolean,
  ): Promise<IncomingMessage> {
    // translated before sending: a request the API cannot take is the client's error, not the upstream's
    const payload = JSON.stringify(this.wire.body(req, this.o.model, stream));
    let res: IncomingMessage;
    try {
      res = await send(
        this.url,
        {
          'content-type': 'application/json',
          accept: stream ? 'text/event-stream' : 'application/json',
          ...this.wire.headers(this.o.apiKey),
        },
        payload,
        signal,
        this.o.connectTimeoutMs ?? 5000,
      );
    } catch (e) {
      if (isTimeout()) throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: no response in time`);
      if (e instanceof ConnectTimeout)
        throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: ${e.message}`, { cause: e });
      if (signal.aborted) throw cancelled(this.o.model, e);
      throw upstream(
        ErrorCodes.UPSTREAM_ERROR,
        `${this.o.model}: cannot reach the endpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        { cause: e },
      );
    }
    const status = res.statusCode ?? 0;
    if (status === 429 || status === 503) {
      res.resume();
      const after = retryAfterMs((res.headers['retry-after'] as string | undefined) ?? null);
      throw upstream(
        status === 429 ? ErrorCodes.RATE_LIMITED : ErrorCodes.UPSTREAM_ERROR,
        `${this.o.model}: upstream ${status}`,
        { status, ...(after !== undefined ? { retryAfterMs: after } : {}) },
      );
    }
    if (status < 200 || status >= 300) {
      let detail = '';
      try {
        // never relay credentials an upstream echoes (its 401 may quote the Authorization header)
        const body = await readAll(res, ERROR_BODY_CHARS).catch(() => '');
        detail = redactSecrets(body.replace(/\s+/g, ' '), this.o.apiKey ? [this.o.apiKey] : []).slice(
          0,
          ERROR_DETAIL_CHARS,
        );
      } catch {
        /* body unreadable: the status says enough */
      }
      throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: upstream ${status}${detail ? `: ${detail}` : ''}`, {
        status,
      });
    }
    return res;
  }

  async complete(req: ChatRequest, opts: CallOptions = {}): Promise<ChatCompletion> {
    const d = deadline(opts.signal, opts.timeoutMs);
    try {
      const res = await this.post(req, false, d.signal, d.timedOut);
      let body: unknown;
      try {
        body = JSON.parse(await readAll(res, this.maxChars)) as unknown;
      } catch (e) {
        if (e instanceof TooLarge) throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: ${e.message}`);
        if (d.timedOut())
          throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: response body not complete in time`);
        if (d.signal.aborted) throw cancelled(this.o.model, e);
        throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: malformed response (${(e as Error).message})`, {
          cause: e,
        }); // a server-side failure: retryable
      }
      const done = this.wire.completion(body, this.o.model);
      if (typeof done === 'string') throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: ${done}`);
      return done;
    } finally {
      d.clear();
    }
  }

  async *stream(req: ChatRequest, opts: CallOptions = {}): AsyncIterable<ChatChunk> {
    const d = deadline(opts.signal, opts.firstTokenMs ?? opts.timeoutMs);
    let first = true;
    let res: IncomingMessage | undefined;
    try {
      res = await this.post(req, true, d.signal, d.timedOut);
      res.setEncoding('utf8');
      const it = res[Symbol.asyncIterator]() as AsyncIterator<string>;
      const t0 = performance.now();
      const idleMs = opts.idleMs ?? DEFAULT_STREAM_IDLE_MS;
      const totalMs = opts.totalMs ?? DEFAULT_STREAM_TOTAL_MS;
      let received = 0;
      const sse = new SseReader(MAX_EVENT_CHARS);
      const translate = this.wire.stream(this.o.model);
      let done = false;
      const broke = (msg: string, cause?: unknown) =>
        upstream(first ? ErrorCodes.UPSTREAM_ERROR : ErrorCodes.STREAM_INTERRUPTED, `${this.o.model}: ${msg}`, {
          ...(cause !== undefined ? { cause } : {}),
        });
      while (!done) {
        let r: IteratorResult<string>;
        try {
          // before the first chunk the first-token deadline applies; after it, the idle and total limits
          r = first ? await it.next() : await nextWithin(it, idleMs, totalMs - (performance.now() - t0));
        } catch (e) {
          if (e instanceof StreamLimit) throw broke(e.message);
          if (d.timedOut()) throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: no first token in time`);
          if (d.signal.aborted) throw cancelled(this.o.model, e);
          throw broke(`stream broke (${(e as Error).message})`, e);
        }
        if (r.done) break;
        received += r.value.length;
        if (received > this.maxChars) throw broke(`stream larger than ${this.maxChars} bytes`);
        let events: string[];
        try {
          events = sse.push(r.value);
        } catch (e) {
          throw broke((e as Error).message);
        }
        for (const data of events) {
          const t = translate(data);
          if (typeof t === 'string') throw broke(t);
          for (const chunk of t.chunks) {
            if (first) {
              first = false;
              d.stopTimer(); // the first-token deadline is met; the caller's signal still cancels
            }
            yield chunk;
          }
          if (t.done) {
            done = true;
            break;
          }
        }
      }
      if (!done) {
        if (d.timedOut()) throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: no first token in time`);
        throw upstream(
          first ? ErrorCodes.UPSTREAM_ERROR : ErrorCodes.STREAM_INTERRUPTED,
          `${this.o.model}: stream ended without [DONE]`,
        );
      }
    } finally {
      d.clear();
      res?.destroy(); // a consumer that stops early frees the connection
    }
  }
}
