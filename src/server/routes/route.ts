/** POST /v1/route (micro-batched: what arrives together is routed in one batch) and /v1/route/batch. */
import type { FastifyInstance } from 'fastify';

import { routeBatchRequestSchema, routeRequestSchema, type RouteOptions } from '../../config/index.js';
import type { Decision } from '../../router/index.js';
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
    host.current.routeBatch(b.prompts, b.options).then(
      (ds) => ds.forEach((d, i) => b.waiters[i]!.resolve(d)),
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

export function routeRoutes(app: FastifyInstance, host: EngineHost, o: BatchingOptions): void {
  const routeOne = microBatcher(host, o);
  const client = { onRequest: app.requireRole('client') };
  app.post('/v1/route', { ...client, schema: { body: routeRequestSchema } }, async (req) => {
    const { prompt, options } = req.body as { prompt: string; options?: RouteOptions };
    return routeOne(prompt, options);
  });
  app.post('/v1/route/batch', { ...client, schema: { body: routeBatchRequestSchema } }, async (req) => {
    const { prompts, options } = req.body as { prompts: string[]; options?: RouteOptions };
    return { decisions: await host.current.routeBatch(prompts, options) };
  });
}
