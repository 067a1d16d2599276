/**
 * The HTTP gateway (Fastify), a thin adapter over the engine: an OpenAI-compatible chat endpoint
 * (`model: "auto"`, `auto:<strategy>` or a model id; `arbiter: {…}` for reward-guided decoding),
 * decisions alone on /v1/route (micro-batched) and /v1/route/batch, the model list, health,
 * Prometheus metrics, and admin-only feedback and reload. One plugin per concern (errors, auth,
 * metrics), one file per group of routes; the dashboard page and its data API under /dashboard.
 */
import Fastify, { type FastifyInstance } from 'fastify';

import type { Arbiter } from '../engine/index.js';
import { EngineHost } from './host.js';
import { authPlugin, type AuthOptions } from './plugins/auth.js';
import { errorsPlugin } from './plugins/errors.js';
import { metricsPlugin } from './plugins/metrics.js';
import { adminRoutes } from './routes/admin.js';
import { chatRoutes } from './routes/chat.js';
import { completionRoutes } from './routes/completions.js';
import { embeddingRoutes } from './routes/embeddings.js';
import { experimentRoutes } from './routes/experiments.js';
import { compareRoutes } from './routes/compare.js';
import { dashboardRoutes } from './routes/dashboard.js';
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
  /**
   * Builds the next engine from the config (POST /admin/reload), given the current one (whose
   * gates the models that remain keep); the old one closes once its requests finish.
   */
  reload?: (current: Arbiter) => Promise<Arbiter>;
  logger?: boolean;
  /** Connection limits: no client can hold the server with a slow or endless request. */
  connections?: Partial<ConnectionLimits>;
}

export interface ConnectionLimits {
  /** To receive a whole request, headers and body (a body sent at a byte every few seconds ends here). Default 30 s. */
  requestTimeoutMs: number;
  /** To receive the headers. Default 10 s. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. Default 5 s. */
  keepAliveTimeoutMs: number;
  /** A connection with no bytes either way for this long is closed (covers responses too). Default 600 s. */
  idleTimeoutMs: number;
  /** Connections open at once; more are refused until some close (keep it under the file-descriptor limit). Default 2048. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 600_000,
  maxConnections: 2048,
};

export async function buildGateway(o: GatewayOptions): Promise<FastifyInstance> {
  const bodyLimit = o.bodyLimit ?? 1 << 20;
  const host = new EngineHost(o.arbiter);
  const c = { ...DEFAULT_CONNECTION_LIMITS, ...o.connections };
  const app = Fastify({
    bodyLimit,
    requestTimeout: c.requestTimeoutMs,
    keepAliveTimeout: c.keepAliveTimeoutMs,
    connectionTimeout: c.idleTimeoutMs,
    // the request timeout is checked this often (Node's default, 30 s, would let a slow body live a minute)
    http: { headersTimeout: c.headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, c.requestTimeoutMs) },
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
  completionRoutes(app, host);
  embeddingRoutes(app, host);
  experimentRoutes(app, host);
  compareRoutes(app, host);
  await dashboardRoutes(app, host);
  app.server.maxConnections = c.maxConnections;
  app.addHook('onClose', async () => host.close());
  return app;
}
