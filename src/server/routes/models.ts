/** GET /v1/models (the auto variants, the configured models, pipelines and agent profiles) and /health (per-model gate state). */
import type { FastifyInstance } from 'fastify';

import type { EngineHost } from '../host.js';
import { modelState } from '../model-state.js';
import { embedderModelId } from './embeddings.js';

export function modelRoutes(app: FastifyInstance, host: EngineHost, backend: string): void {
  // entries shaped as OpenAI's: id, object, created (epoch seconds: when this gateway started), owned_by
  const created = Math.floor(Date.now() / 1000);
  app.get('/v1/models', { onRequest: app.requireRole('client') }, async () => {
    const registry = host.current.router.registry;
    return {
      object: 'list',
      data: [
        ...['auto', 'auto:quality', 'auto:cost', 'auto:latency', 'auto:balanced'].map((id) => ({
          id,
          object: 'model',
          created,
          owned_by: 'arbiter',
        })),
        ...registry.ids().map((id) => ({ id, object: 'model', created, owned_by: registry.get(id).provider.kind })),
        // pipelines and agent profiles: what `model` may name beside the models
        ...host.current.config.pipelines.map((p) => ({
          id: `pipeline:${p.id}`,
          object: 'model',
          created,
          owned_by: 'arbiter',
        })),
        ...['agent', ...host.current.config.profiles.map((p) => `agent:${p.id}`)].map((id) => ({
          id,
          object: 'model',
          created,
          owned_by: 'arbiter',
        })),
        // the embedder /v1/embeddings serves
        { id: embedderModelId(host.current.router.embedder.kind), object: 'model', created, owned_by: 'arbiter' },
      ],
    };
  });
  app.get('/health', async () => ({
    status: 'ok',
    backend,
    store: host.current.store ? host.current.store.status : { status: 'off' },
    ...(host.current.autoScore ? { autoScore: host.current.autoScore.status } : {}),
    models: [...host.current.upstreams].map(([id, u]) => {
      return {
        id,
        state: modelState(u.gate),
        inFlight: u.gate.inFlight,
        queued: u.gate.queued,
        ...(u.gate.breaker() === 'open' ? { retryInMs: u.gate.cooldownLeftMs() } : {}),
      };
    }),
  }));
}
