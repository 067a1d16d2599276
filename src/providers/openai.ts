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
import type { CallOptions, ChatChunk, ChatCompletion, ChatRequest, Provider } from './types.js';

export interface OpenAIProviderOptions {
  baseUrl: string;
  /** The model name upstream (default: the arbiter model id). */
  model: string;
  apiKey?: string;
  /** To an open connection (a fresh one; a reused keep-alive socket is already open). Default 5 s. */
  connectTimeoutMs?: number;
}

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

/** The whole body as text (rejects if the connection breaks first). */
function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (text += c));
    res.on('end', () =>
      res.complete ? resolve(text) : reject(new Error('connection closed before the body was complete')),
    );
    res.on('aborted', () => reject(new Error('connection closed before the body was complete')));
    res.on('error', reject);
  });
}

export class OpenAIProvider implements Provider {
  readonly kind = 'openai' as const;
  private readonly url: URL;

  constructor(private readonly o: OpenAIProviderOptions) {
    this.url = new URL(`${o.baseUrl.replace(/\/+$/, '')}/chat/completions`);
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
        detail = (await readAll(res)).slice(0, 200).replace(/\s+/g, ' ');
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
        body = JSON.parse(await readAll(res)) as ChatCompletion;
      } catch (e) {
        if (d.timedOut())
          throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: response body not complete in time`);
        if (d.signal.aborted) throw cancelled(this.o.model, e);
        throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: malformed response (${(e as Error).message})`, {
          cause: e,
        }); // a server-side failure: retryable
      }
      if (!body || !Array.isArray(body.choices))
        throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: response has no choices`);
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
      let buf = '';
      let done = false;
      while (!done) {
        let r: IteratorResult<string>;
        try {
          r = await it.next();
        } catch (e) {
          if (d.timedOut()) throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: no first token in time`);
          if (d.signal.aborted) throw cancelled(this.o.model, e);
          throw upstream(
            first ? ErrorCodes.UPSTREAM_ERROR : ErrorCodes.STREAM_INTERRUPTED,
            `${this.o.model}: stream broke (${(e as Error).message})`,
            { cause: e },
          );
        }
        if (r.done) break;
        buf += r.value;
        let cut: number;
        while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
          const event = buf.slice(0, cut);
          buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
          const data = event
            .split(/\r?\n/)
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (!data) continue;
          if (data === '[DONE]') {
            done = true;
            break;
          }
          let chunk: ChatChunk & { error?: unknown };
          try {
            chunk = JSON.parse(data) as ChatChunk;
          } catch {
            throw upstream(
              first ? ErrorCodes.UPSTREAM_ERROR : ErrorCodes.STREAM_INTERRUPTED,
              `${this.o.model}: malformed stream event`,
            );
          }
          if (chunk.error)
            throw upstream(
              first ? ErrorCodes.UPSTREAM_ERROR : ErrorCodes.STREAM_INTERRUPTED,
              `${this.o.model}: upstream error event`,
            );
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
