/**
 * Any OpenAI-compatible `/v1/chat/completions` endpoint (vLLM, llama.cpp server, Ollama, hosted
 * APIs) over node:http(s) with keep-alive agents and TCP_NODELAY: whole responses and SSE streams.
 * (Node 20's fetch added 2–50 ms per call under concurrent load on loopback in our measurements;
 * a plain keep-alive request adds well under one.) Failures are typed so the gateway can
 * decide what to do: ARB_RATE_LIMITED (429, with Retry-After), ARB_UPSTREAM_ERROR (5xx, refused or
 * reset connections, malformed bodies; `status` when there was one), ARB_UPSTREAM_TIMEOUT.
 * The API key comes from the environment variable the config names; it is never logged or echoed.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { redactSecrets } from '../text.js';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_STREAM_IDLE_MS, DEFAULT_STREAM_TOTAL_MS } from './limits.js';
import { SseReader } from './sse.js';
import type { CallOptions, ChatChunk, ChatCompletion, ChatRequest, Provider } from './types.js';

export interface OpenAIProviderOptions {
  baseUrl: string;
  /** The model name upstream (default: the arbiter model id). */
  model: string;
  apiKey?: string;
  /** To an open connection (a fresh one; a reused keep-alive socket is already open). Default 5 s. */
  connectTimeoutMs?: number;
  /** The largest response body, or whole stream, read (characters of UTF-8 text). Default 8 MiB. */
  maxResponseBytes?: number;
}

/** The largest single server-sent event (a stream without delimiters is cut off here). */
const MAX_EVENT_CHARS = 1 << 20;
/** What is read of an error body, and what of it a message quotes. */
const ERROR_BODY_CHARS = 4096;
const ERROR_DETAIL_CHARS = 200;

class TooLarge extends Error {}
class StreamLimit extends Error {}

/** Retry-After as milliseconds (seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(header);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

function upstream(
  code: (typeof ErrorCodes)[keyof typeof ErrorCodes],
  msg: string,
  extra: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
): ArbiterError {
  return new ArbiterError(code, msg, { param: 'model', ...extra });
}

/**
 * The caller cancelled (its client went away): status 499, so it is neither retried nor held
 * against the model's breaker.
 */
export function cancelled(model: string, cause?: unknown): ArbiterError {
  return new ArbiterError(ErrorCodes.UPSTREAM_ERROR, `${model}: request cancelled by the client`, {
    param: 'model',
    status: 499,
    cause,
  });
}

/** A signal that aborts on the caller's signal or after ms (whichever first), and its canceller. */
function deadline(
  parent: AbortSignal | undefined,
  ms: number | undefined,
): { signal: AbortSignal; stopTimer: () => void; clear: () => void; timedOut: () => boolean } {
  const ctl = new AbortController();
  let fired = false;
  const timer = ms !== undefined ? setTimeout(() => ((fired = true), ctl.abort(new Error('timeout'))), ms) : undefined;
  const onAbort = () => ctl.abort(parent?.reason);
  parent?.addEventListener('abort', onAbort, { once: true });
  if (parent?.aborted) ctl.abort(parent.reason);
  return {
    signal: ctl.signal,
    stopTimer: () => timer && clearTimeout(timer),
    clear: () => {
      if (timer) clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
    timedOut: () => fired,
  };
}

// Idle keep-alive sockets are dropped after 4 s: servers commonly close them at 5 s (Node's
// default keepAliveTimeout), and reusing one in that window fails the request with a reset — which
// in a soak test counted against the breaker often enough to open it.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 1024, timeout: 4000 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 1024, timeout: 4000 }),
};

class ConnectTimeout extends Error {}

/** Sends one POST; resolves with the response once its headers are in. A connection not open within connectMs fails with ConnectTimeout. */
function send(
  url: URL,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  connectMs: number,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: agents[url.protocol as 'http:' | 'https:'],
        signal,
      },
      resolve,
    );
    req.on('socket', (s) => {
      s.setNoDelay(true);
      if (!s.connecting) return; // a kept-alive socket
      const t = setTimeout(() => req.destroy(new ConnectTimeout(`no connection within ${connectMs} ms`)), connectMs);
      s.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(t));
      s.once('close', () => clearTimeout(t));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The whole body as text, at most `max` characters (rejects if the connection breaks first, or with TooLarge). */
function readAll(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      if (text.length + c.length > max) {
        reject(new TooLarge(`response larger than ${max} bytes`));
        res.destroy();
        return;
      }
      text += c;
    });
    res.on('end', () =>
      res.complete ? resolve(text) : reject(new Error('connection closed before the body was complete')),
    );
    res.on('aborted', () => reject(new Error('connection closed before the body was complete')));
    res.on('error', reject);
  });
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

/**
 * The iterator's next value, or a StreamLimit when none comes within idleMs (a stalled stream) or
 * before the whole stream's time is up (leftMs). Never leaves a rejection unhandled.
 */
function nextWithin<T>(it: AsyncIterator<T>, idleMs: number, leftMs: number): Promise<IteratorResult<T>> {
  const next = it.next();
  next.catch(() => {}); // may reject after the race is lost (the response is destroyed then)
  const ms = Math.max(0, Math.min(idleMs, leftMs));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new StreamLimit(
            leftMs <= idleMs ? 'stream took longer than its time limit' : `stream stalled: no data for ${idleMs} ms`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([next, timeout]).finally(() => clearTimeout(timer));
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
  readonly kind = 'openai' as const;
  private readonly url: URL;
  private readonly maxChars: number;

  constructor(private readonly o: OpenAIProviderOptions) {
    this.url = new URL(`${o.baseUrl.replace(/\/+$/, '')}/chat/completions`);
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
    let res: IncomingMessage;
    try {
      res = await send(
        this.url,
        {
          'content-type': 'application/json',
          accept: stream ? 'text/event-stream' : 'application/json',
          ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}),
        },
        JSON.stringify({
          ...req,
          model: this.o.model,
          stream,
          ...(stream ? { stream_options: { include_usage: true } } : {}),
        }),
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
      let body: ChatCompletion;
      try {
        body = JSON.parse(await readAll(res, this.maxChars)) as ChatCompletion;
      } catch (e) {
        if (e instanceof TooLarge) throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: ${e.message}`);
        if (d.timedOut())
          throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: response body not complete in time`);
        if (d.signal.aborted) throw cancelled(this.o.model, e);
        throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: malformed response (${(e as Error).message})`, {
          cause: e,
        }); // a server-side failure: retryable
      }
      const problem = invalidCompletion(body);
      if (problem) throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: ${problem}`);
      return body;
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
          if (data === '[DONE]') {
            done = true;
            break;
          }
          const chunk = parseChunk(data);
          if (!chunk) throw broke('malformed stream event');
          if (chunk.error) throw broke('upstream error event');
          if (first) {
            first = false;
            d.stopTimer(); // the first-token deadline is met; the caller's signal still cancels
          }
          yield chunk;
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
