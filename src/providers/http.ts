/**
 * HTTP plumbing shared by the providers that call an endpoint (OpenAI-compatible, Azure,
 * Anthropic): keep-alive agents with TCP_NODELAY, a connect timeout, bounded body reads, deadlines,
 * a stall guard for streams, and the typed errors the gate acts on.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

import { ArbiterError, ErrorCodes } from '../errors.js';

/** The largest single server-sent event (a stream without delimiters is cut off here). */
export const MAX_EVENT_CHARS = 1 << 20;
/** What is read of an error body, and what of it a message quotes. */
export const ERROR_BODY_CHARS = 4096;
export const ERROR_DETAIL_CHARS = 200;

export class TooLarge extends Error {}
export class StreamLimit extends Error {}

/** Retry-After as milliseconds (seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(header);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

export function upstream(
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
export function deadline(
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

export class ConnectTimeout extends Error {}

/** Sends one POST; resolves with the response once its headers are in. A connection not open within connectMs fails with ConnectTimeout. */
export function send(
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
export function readAll(res: IncomingMessage, max: number): Promise<string> {
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

/**
 * The iterator's next value, or a StreamLimit when none comes within idleMs (a stalled stream) or
 * before the whole stream's time is up (leftMs). Never leaves a rejection unhandled.
 */
export function nextWithin<T>(it: AsyncIterator<T>, idleMs: number, leftMs: number): Promise<IteratorResult<T>> {
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
