/** POST /v1/route (micro-batched: what arrives together is routed in one batch) and /v1/route/batch. */
import { setImmediate as yieldToLoop } from 'node:timers/promises';

import type { FastifyInstance } from 'fastify';

import { routeBatchRequestSchema, routeRequestSchema, type RouteOptions } from '../../config/index.js';
import type { Arbiter } from '../../engine/index.js';
import { ArbiterError, ErrorCodes, toArbiterError } from '../../errors.js';
import { parseFields, pickDecision, type Decision, type DecisionField } from '../../router/index.js';
import type { EngineHost } from '../host.js';

export interface BatchingOptions {
  /** The window in ms (0: what arrived in the same event-loop turn). */
  batchWindowMs: number;
  /** The most prompts per batch. */
  maxBatch: number;
}

interface Pending {
  prompts: string[];
  options: RouteOptions | undefined;
  waiters: Array<{ resolve: (d: Decision) => void; reject: (e: unknown) => void }>;
  timer: NodeJS.Timeout | NodeJS.Immediate;
}

/** Collects single-prompt route requests with the same options into one routeBatch call. */
function microBatcher(host: EngineHost, o: BatchingOptions) {
  const pending = new Map<string, Pending>();
  const flush = (key: string) => {
    const b = pending.get(key);
    if (!b) return;
    pending.delete(key);
    if (o.batchWindowMs > 0) clearTimeout(b.timer as NodeJS.Timeout);
    else clearImmediate(b.timer as NodeJS.Immediate);
    // one prompt that cannot be routed fails only its own request
    routeEach(host.current, b.prompts, b.options).then(
      (ds) => ds.forEach((d, i) => ('error' in d ? b.waiters[i]!.reject(d.cause) : b.waiters[i]!.resolve(d))),
      (e: unknown) => b.waiters.forEach((w) => w.reject(e)),
    );
  };
  return (prompt: string, options: RouteOptions | undefined) =>
    new Promise<Decision>((resolve, reject) => {
      const key = JSON.stringify(options ?? null);
      let b = pending.get(key);
      if (!b) {
        b = {
          prompts: [],
          options,
          waiters: [],
          timer: o.batchWindowMs > 0 ? setTimeout(() => flush(key), o.batchWindowMs) : setImmediate(() => flush(key)),
        };
        pending.set(key, b);
      }
      b.prompts.push(prompt);
      b.waiters.push({ resolve, reject });
      if (b.prompts.length >= o.maxBatch) flush(key);
    });
}

/** A prompt that could not be routed, in its place in the answer. */
export interface ItemError {
  error: { code: string; message: string };
  cause: ArbiterError;
}

/**
 * Decisions for prompts, one batch call when it can: when the batch fails, each prompt is routed
 * alone and those that fail get an error in their place. When every prompt fails the same way the
 * request itself is at fault (its options, say): that error is thrown.
 */
export async function routeEach(
  engine: Arbiter,
  prompts: string[],
  options: RouteOptions | undefined,
): Promise<Array<Decision | ItemError>> {
  try {
    return await engine.routeBatch(prompts, options);
  } catch (batchError) {
    if (prompts.length <= 1) throw batchError;
    const out: Array<Decision | ItemError> = [];
    for (const p of prompts) {
      try {
        out.push((await engine.routeBatch([p], options))[0]!);
      } catch (e) {
        const err = toArbiterError(e);
        out.push({ error: { code: err.code, message: err.message }, cause: err });
      }
    }
    const codes = new Set(out.map((d) => ('error' in d ? d.error.code : '')));
    if (codes.size === 1 && !codes.has('')) throw batchError;
    return out;
  }
}

/** Prompts routed per step of a batch request; the event loop serves other requests between steps. */
const STEP = 256;
/** Full decisions are ~2 KB each: at most this many per request (compact ones: the schema's 10,000). */
export const MAX_FULL_DECISIONS = 1000;

/** Checked `?fields=` lists remembered (a client sends the same one each time); past this many, checked each time. */
const FIELD_LISTS = 64;

/** parseFields, remembered by the query's text: the compact path's hot loop skips splitting and checking it (~0.7 µs). */
function fieldsParser(): (list: string) => readonly DecisionField[] {
  const known = new Map<string, readonly DecisionField[]>();
  return (list) => {
    let fields = known.get(list);
    if (!fields) {
      fields = Object.freeze(parseFields(list)); // throws on a bad list: nothing remembered
      if (known.size < FIELD_LISTS) known.set(list, fields);
    }
    return fields;
  };
}

export function routeRoutes(app: FastifyInstance, host: EngineHost, o: BatchingOptions): void {
  const routeOne = microBatcher(host, o);
  const fieldsOf = fieldsParser();
  const client = { onRequest: app.requireRole('client') };
  app.post('/v1/route', { ...client, schema: { body: routeRequestSchema } }, async (req, reply) => {
    const { prompt, options } = req.body as { prompt: string; options?: RouteOptions };
    // ?fields=model,confidence: those fields of the decision (and its id) instead of the whole ~2 KB
    const q = (req.query ?? {}) as { fields?: unknown };
    const fields = typeof q.fields === 'string' ? fieldsOf(q.fields) : undefined;
    // recorded (kind route) under a request id, so the caller can rate the answer it got by id
    const rec = host.current.routeRecord(req.caller?.keyId ? { keyId: req.caller.keyId } : {});
    try {
      const d = await routeOne(prompt, options);
      rec.decided(prompt, d);
      void reply.header('x-request-id', rec.id);
      if (fields) return { id: rec.id, ...pickDecision(d, fields) };
      // the decision is this request's own (the micro-batcher resolves each with its own object): the
      // id goes on it in place, after its other keys as a copy would put it, without copying ~2 KB
      const out = d as Decision & { id: string };
      out.id = rec.id;
      return out;
    } catch (e) {
      rec.failed(e);
      throw e;
    }
  });
  app.post('/v1/route/batch', { ...client, schema: { body: routeBatchRequestSchema } }, async (req) => {
    const { prompts, options, compact } = req.body as { prompts: string[]; options?: RouteOptions; compact?: boolean };
    if (!compact && prompts.length > MAX_FULL_DECISIONS)
      throw new ArbiterError(
        ErrorCodes.INVALID_REQUEST,
        `prompts: at most ${MAX_FULL_DECISIONS} per request with full decisions (got ${prompts.length}); send "compact": true for up to 10,000, or split the batch`,
        { param: 'prompts' },
      );
    const engine = host.current;
    const decisions: unknown[] = [];
    for (let i = 0; i < prompts.length; i += STEP) {
      if (i > 0) await yieldToLoop(); // bounded work per turn: /health and other requests stay responsive
      for (const d of await routeEach(engine, prompts.slice(i, i + STEP), options))
        decisions.push('error' in d ? { error: d.error } : compact ? pickDecision(d) : d);
    }
    return { decisions };
  });
}
