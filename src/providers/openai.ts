/**
 * Any OpenAI-compatible `/v1/chat/completions` endpoint (vLLM, llama.cpp server, Ollama, hosted
 * APIs) over Node's fetch: whole responses and SSE streams. Failures are typed so the gateway can
 * decide what to do: ARB_RATE_LIMITED (429, with Retry-After), ARB_UPSTREAM_ERROR (5xx, refused or
 * reset connections, malformed bodies; `status` when there was one), ARB_UPSTREAM_TIMEOUT.
 * The API key comes from the environment variable the config names; it is never logged or echoed.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { CallOptions, ChatChunk, ChatCompletion, ChatRequest, Provider } from './types.js';

export interface OpenAIProviderOptions {
  baseUrl: string;
  /** The model name upstream (default: the arbiter model id). */
  model: string;
  apiKey?: string;
}

/** Retry-After as milliseconds (seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(header);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

function upstream(code: (typeof ErrorCodes)[keyof typeof ErrorCodes], msg: string, extra: { status?: number; retryAfterMs?: number; cause?: unknown } = {}): ArbiterError {
  return new ArbiterError(code, msg, { param: 'model', ...extra });
}

/** A signal that aborts on the caller's signal or after ms (whichever first), and its canceller. */
function deadline(parent: AbortSignal | undefined, ms: number | undefined): { signal: AbortSignal; stopTimer: () => void; clear: () => void; timedOut: () => boolean } {
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

export class OpenAIProvider implements Provider {
  readonly kind = 'openai' as const;
  private readonly url: string;

  constructor(private readonly o: OpenAIProviderOptions) {
    this.url = `${o.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  private async post(req: ChatRequest, stream: boolean, signal: AbortSignal, isTimeout: () => boolean): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
        body: JSON.stringify({ ...req, model: this.o.model, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
        signal,
      });
    } catch (e) {
      if (isTimeout()) throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: no response in time`);
      if (signal.aborted) throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: request cancelled`, { cause: e });
      throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: cannot reach the endpoint (${(e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message})`, { cause: e });
    }
    if (res.status === 429 || res.status === 503) {
      await res.body?.cancel().catch(() => undefined);
      const after = retryAfterMs(res.headers.get('retry-after'));
      throw upstream(res.status === 429 ? ErrorCodes.RATE_LIMITED : ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: upstream ${res.status}`, { status: res.status, ...(after !== undefined ? { retryAfterMs: after } : {}) });
    }
    if (!res.ok) {
      let detail = '';
      try {
        detail = (await res.text()).slice(0, 200).replace(/\s+/g, ' ');
      } catch {
        /* body unreadable: the status says enough */
      }
      throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: upstream ${res.status}${detail ? `: ${detail}` : ''}`, { status: res.status });
    }
    return res;
  }

  async complete(req: ChatRequest, opts: CallOptions = {}): Promise<ChatCompletion> {
    const d = deadline(opts.signal, opts.timeoutMs);
    try {
      const res = await this.post(req, false, d.signal, d.timedOut);
      let body: ChatCompletion;
      try {
        body = (await res.json()) as ChatCompletion;
      } catch (e) {
        if (d.timedOut()) throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: response body not complete in time`);
        throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: malformed response (${(e as Error).message})`, { cause: e }); // a server-side failure: retryable
      }
      if (!body || !Array.isArray(body.choices)) throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: response has no choices`);
      return body;
    } finally {
      d.clear();
    }
  }

  async *stream(req: ChatRequest, opts: CallOptions = {}): AsyncIterable<ChatChunk> {
    const d = deadline(opts.signal, opts.firstTokenMs ?? opts.timeoutMs);
    let first = true;
    try {
      const res = await this.post(req, true, d.signal, d.timedOut);
      if (!res.body) throw upstream(ErrorCodes.UPSTREAM_ERROR, `${this.o.model}: stream without a body`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      let done = false;
      while (!done) {
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch (e) {
          if (d.timedOut()) throw upstream(ErrorCodes.UPSTREAM_TIMEOUT, `${this.o.model}: no first token in time`);
          throw upstream(first ? ErrorCodes.UPSTREAM_ERROR : ErrorCodes.STREAM_INTERRUPTED, `${this.o.model}: stream broke (${(e as Error).message})`, { cause: e });
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
            throw upstream(first ? ErrorCodes.UPSTREAM_ERROR : ErrorCodes.STREAM_INTERRUPTED, `${this.o.model}: malformed stream event`);
          }
          if (chunk.error) throw upstream(first ? ErrorCodes.UPSTREAM_ERROR : ErrorCodes.STREAM_INTERRUPTED, `${this.o.model}: upstream error event`);
          if (first) {
            first = false;
            d.stopTimer(); // the first-token deadline is met; the caller's signal still cancels
          }
          yield chunk;
        }
      }
      if (!done) throw upstream(first ? ErrorCodes.UPSTREAM_ERROR : ErrorCodes.STREAM_INTERRUPTED, `${this.o.model}: stream ended without [DONE]`);
    } finally {
      d.clear();
    }
  }
}
