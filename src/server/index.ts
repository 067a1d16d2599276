/**
 * A gateway from a config file: the router (and its trained model, if the config names one), the
 * providers, and reload from the same file.
 */
import type { FastifyInstance } from 'fastify';

import { selectBackend } from '../compute/index.js';
import { createRouter } from '../engine/index.js';
import { loadConfig } from '../models/index.js';
import { createUpstreams } from '../providers/index.js';
import { buildGateway, type GatewayOptions, type GatewayState } from './app.js';

export async function createGateway(configPath: string, options: Omit<GatewayOptions, 'router' | 'upstreams' | 'backend' | 'reload'> = {}): Promise<FastifyInstance> {
  const { backend } = await selectBackend();
  const load = async (): Promise<GatewayState> => {
    const cfg = await loadConfig(configPath);
    return { router: await createRouter(cfg, { backend }), upstreams: await createUpstreams(cfg) };
  };
  const state = await load();
  return buildGateway({ ...options, ...state, backend: backend.name, reload: load });
}

export { buildGateway, type GatewayOptions, type GatewayState } from './app.js';
