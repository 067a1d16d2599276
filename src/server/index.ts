/**
 * `arbiter/server`: a gateway from a config file (createGateway), or over an engine you built
 * (buildGateway); reload rebuilds the engine from the same file.
 */
import type { FastifyInstance } from 'fastify';

import { selectBackend } from '../compute/index.js';
import { createArbiter, type Arbiter } from '../engine/index.js';
import { buildGateway, type GatewayOptions } from './app.js';

export async function createGateway(
  configPath: string,
  options: Omit<GatewayOptions, 'arbiter' | 'backend' | 'reload'> = {},
): Promise<FastifyInstance> {
  const { backend } = await selectBackend();
  const load = (previous?: Arbiter) => createArbiter(configPath, { backend, ...(previous ? { previous } : {}) });
  return buildGateway({ ...options, arbiter: await load(), backend: backend.name, reload: load });
}

export { buildGateway, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits, type GatewayOptions } from './app.js';
export { EngineHost } from './host.js';
export { keysFromEnv, type AuthOptions } from './plugins/auth.js';
export {
  buildOverview,
  buildSnapshot,
  dashboardAssets,
  reportHtml,
  type Overview,
  type Snapshot,
} from './dashboard/index.js';
export { liveState, parseRange } from './routes/dashboard.js';
