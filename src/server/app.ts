/**
 * The HTTP gateway (Fastify), a thin adapter over the engine: an OpenAI-compatible chat endpoint
 * (`model: "auto"`, `auto:<strategy>` or a model id; `arbiter: {…}` for reward-guided decoding),
 * decisions alone on /v1/route (micro-batched) and /v1/route/batch, the model list, health,
 * Prometheus metrics, and admin-only feedback and reload. One plugin per concern (errors, auth,
 * metrics), one file per group of routes.
 */
import Fastify, { type FastifyInstance } from 'fastify';

import type { Arbiter } from '../engine/index.js';
import { EngineHost } from './host.js';
import { authPlugin, type AuthOptions } from './plugins/auth.js';
import { errorsPlugin } from './plugins/errors.js';
import { metricsPlugin } from './plugins/metrics.js';
import { adminRoutes } from './routes/admin.js';
import { chatRoutes } from './routes/chat.js';
import { modelRoutes } from './routes/models.js';
import { routeRoutes } from './routes/route.js';

export interface GatewayOptions {
  /** The engine to serve (createArbiter). */
  arbiter: Arbiter;
  /** The compute backend's name, for /health (default: the engine's). */
  backend?: string;
  /** Bearer keys; when neither list has a key, the API is open (bind to 127.0.0.1). */
  auth?: AuthOptions;
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** /v1/route micro-batching: the window (default 0: the same event-loop turn) and the most prompts per batch (64). */
  batchWindowMs?: number;
  maxBatch?: number;
  /** Builds a new engine from the config (POST /admin/reload); the old one closes once its requests finish. */
  reload?: () => Promise<Arbiter>;
  logger?: boolean;
}

export async function buildGateway(o: GatewayOptions): Promise<FastifyInstance> {
  const bodyLimit = o.bodyLimit ?? 1 << 20;
  const host = new EngineHost(o.arbiter);
  const app = Fastify({
    bodyLimit,
    // on close: idle keep-alive connections are closed at once, busy ones after their response
    forceCloseConnections: 'idle',
    logger: o.logger ? { redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] } : false,
    // schema-validated bodies: extra keys are errors, nothing is coerced; x-param is our own annotation
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: true,
        allErrors: false,
        keywords: ['x-param'],
      },
    },
  });
  await app.register(errorsPlugin, { bodyLimit });
  await app.register(authPlugin, o.auth ? { auth: o.auth } : {});
  await app.register(metricsPlugin, { host });
  routeRoutes(app, host, { batchWindowMs: o.batchWindowMs ?? 0, maxBatch: o.maxBatch ?? 64 });
  modelRoutes(app, host, o.backend ?? o.arbiter.backend?.name ?? 'unknown');
  adminRoutes(app, host, o.reload);
  chatRoutes(app, host);
  app.addHook('onClose', async () => host.close());
  return app;
}
