/** Admin-only: POST /v1/feedback (learn from an outcome) and POST /admin/reload (swap in a new engine). */
import type { FastifyInstance } from 'fastify';

import { feedbackSchema, type FeedbackRequest } from '../../config/index.js';
import type { Arbiter } from '../../engine/index.js';
import { ArbiterError, ErrorCodes } from '../../errors.js';
import type { EngineHost } from '../host.js';

export function adminRoutes(
  app: FastifyInstance,
  host: EngineHost,
  reload: ((current: Arbiter) => Promise<Arbiter>) | undefined,
): void {
  const admin = { onRequest: app.requireRole('admin') };
  app.post('/v1/feedback', { ...admin, schema: { body: feedbackSchema } }, async (req) => {
    const { prompt, model, quality, task } = req.body as FeedbackRequest;
    const r = await host.current.feedback({ prompt, model, quality, ...(task ? { task } : {}) });
    return { merged: r.merged, learnedCapability: r.capability ?? null };
  });
  app.post('/admin/reload', admin, async () => {
    if (!reload)
      throw new ArbiterError(ErrorCodes.UNSUPPORTED, 'this server was started without a config file to reload', {});
    const next = await reload(host.current);
    void host.swap(next); // in-flight requests finish on the engine they started with; it closes after them
    return { reloaded: true, models: next.router.registry.ids() };
  });
}
