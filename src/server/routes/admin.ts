/**
 * Feedback (a rating by request id, or an outcome on a prompt), the recorded requests and stats,
 * and POST /admin/reload (swap in a new engine).
 */
import type { FastifyInstance } from 'fastify';

import { feedbackBodySchema, statsQuerySchema, type FeedbackRequest, type RatingRequest } from '../../config/index.js';
import type { Arbiter } from '../../engine/index.js';
import { ArbiterError, ErrorCodes } from '../../errors.js';
import type { EngineHost } from '../host.js';

export function adminRoutes(
  app: FastifyInstance,
  host: EngineHost,
  reload: ((current: Arbiter) => Promise<Arbiter>) | undefined,
): void {
  const admin = { onRequest: app.requireRole('admin') };
  // a rating by request id (client keys their own requests, admin any); or, admin only, an outcome of a model on a prompt
  app.post(
    '/v1/feedback',
    { onRequest: app.requireRole('client'), schema: { body: feedbackBodySchema } },
    async (req) => {
      const caller = req.caller!;
      const admin = caller.open || caller.role === 'admin';
      const body = req.body as FeedbackRequest | RatingRequest;
      if ('request_id' in body) {
        const { request_id, ...rating } = body;
        const r = await host.current.rate(request_id, rating, {
          admin,
          ...(caller.keyId ? { keyId: caller.keyId } : {}),
        });
        return { request_id: r.requestId, score: r.score, source: r.source, learned: r.learned };
      }
      if (!admin)
        throw new ArbiterError(
          ErrorCodes.FORBIDDEN,
          'feedback on a prompt needs an admin key (a client key may rate its own requests by request_id)',
          { param: 'authorization' },
        );
      const { prompt, model, quality, task } = body;
      const r = await host.current.feedback({ prompt, model, quality, ...(task ? { task } : {}) });
      return { merged: r.merged, learnedCapability: r.capability ?? null };
    },
  );
  // a recorded request: client keys their own, admin any
  app.get('/v1/requests/:id', { onRequest: app.requireRole('client') }, async (req) => {
    const { id } = req.params as { id: string };
    const caller = req.caller!;
    const r = id.length <= 128 ? await host.current.request(id) : undefined;
    if (!r || (!caller.open && caller.role !== 'admin' && r.key_id !== caller.keyId))
      throw new ArbiterError(ErrorCodes.NOT_FOUND, `no recorded request ${id}`, { param: 'id' });
    return r;
  });
  // profiles per model × task with intervals, and spend per key (client keys see their own)
  app.get(
    '/v1/stats',
    { onRequest: app.requireRole('client'), schema: { querystring: statsQuerySchema } },
    async (req) => {
      const q = req.query as { since?: string; model?: string; task?: string; key?: string };
      const caller = req.caller!;
      const admin = caller.open || caller.role === 'admin';
      const since = q.since === undefined ? undefined : /^\d+$/.test(q.since) ? Number(q.since) : Date.parse(q.since);
      if (since !== undefined && !Number.isFinite(since))
        throw new ArbiterError(ErrorCodes.INVALID_REQUEST, 'since must be epoch milliseconds or an ISO date', {
          param: 'since',
        });
      const keyId = admin ? q.key : caller.keyId;
      return host.current.stats({
        ...(since !== undefined ? { since } : {}),
        ...(q.model ? { model: q.model } : {}),
        ...(q.task ? { task: q.task } : {}),
        ...(keyId ? { keyId } : {}),
      });
    },
  );
  app.post('/admin/reload', admin, async () => {
    if (!reload)
      throw new ArbiterError(ErrorCodes.UNSUPPORTED, 'this server was started without a config file to reload', {});
    const next = await reload(host.current);
    void host.swap(next); // in-flight requests finish on the engine they started with; it closes after them
    return { reloaded: true, models: next.router.registry.ids() };
  });
}
