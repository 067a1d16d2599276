/**
 * Experiments over HTTP (admin): the list with each one's state, one experiment's analysis (arms,
 * metric estimates with intervals, always-valid and fixed-horizon p-values, guardrails, the
 * sample-ratio check, the decision), promoting an arm by hand, and stopping (traffic back on the control).
 */
import type { FastifyInstance } from 'fastify';

import { ArbiterError, ErrorCodes } from '../../errors.js';
import { armTarget } from '../../experiments/index.js';
import type { EngineHost } from '../host.js';

const stopSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 500 } },
} as const;

const promoteSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['arm'],
  properties: { arm: { type: 'string', minLength: 1, maxLength: 64 }, reason: { type: 'string', maxLength: 500 } },
} as const;

export function experimentRoutes(app: FastifyInstance, host: EngineHost): void {
  const admin = { onRequest: app.requireRole('admin') };
  const find = (id: string) => {
    const x = host.current.experiments;
    const def = x?.defs.find((d) => d.id === id);
    if (!x || !def)
      throw new ArbiterError(ErrorCodes.NOT_FOUND, `no experiment ${JSON.stringify(id)}`, { param: 'id' });
    return { x, def };
  };
  app.get('/v1/experiments', admin, async () => {
    const x = host.current.experiments;
    return {
      data: (x?.defs ?? []).map((d) => ({
        id: d.id,
        metric: d.metric,
        arms: d.arms.map((a) => ({ id: a.id, target: armTarget(a, d.id), weight: a.weight })),
        status: x!.state(d.id),
      })),
    };
  });
  // a definition as in the config's experiments list; checked with the config's rules (422 naming the field)
  app.post('/v1/experiments', { ...admin, schema: { body: { type: 'object' } } }, async (req, reply) => {
    const def = await host.current.createExperiment(req.body);
    void reply.code(201);
    return { id: def.id, status: host.current.experiments!.state(def.id) };
  });
  app.get('/v1/experiments/:id', admin, async (req) => {
    const { x, def } = find((req.params as { id: string }).id);
    const r = await x.report(def.id);
    if (!r)
      throw new ArbiterError(ErrorCodes.UNSUPPORTED, 'experiments need an outcome store (store.url)', {
        param: 'store.url',
      });
    return r;
  });
  app.post('/v1/experiments/:id/promote', { ...admin, schema: { body: promoteSchema } }, async (req) => {
    const { x, def } = find((req.params as { id: string }).id);
    const { arm, reason } = req.body as { arm: string; reason?: string };
    if (!def.arms.some((a) => a.id === arm))
      throw new ArbiterError(ErrorCodes.INVALID_REQUEST, `arm must be one of ${def.arms.map((a) => a.id).join(', ')}`, {
        param: 'arm',
      });
    return { id: def.id, status: await x.promote(def.id, arm, reason) };
  });
  app.post('/v1/experiments/:id/stop', { ...admin, schema: { body: stopSchema } }, async (req) => {
    const { x, def } = find((req.params as { id: string }).id);
    const { reason } = (req.body ?? {}) as { reason?: string };
    return { id: def.id, status: await x.stop(def.id, reason) };
  });
}
