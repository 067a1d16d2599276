/**
 * A gateway from a config file: the router (and its trained model, if the config names one), the
 * providers, and reload from the same file.
 */
import type { FastifyInstance } from 'fastify';

import { selectBackend } from '../compute/index.js';
import { createRouter, loadRewards } from '../engine/index.js';
import { loadConfig } from '../models/index.js';
import { createUpstreams } from '../providers/index.js';
import { buildGateway, type GatewayOptions, type GatewayState } from './app.js';

export async function createGateway(configPath: string, options: Omit<GatewayOptions, 'router' | 'upstreams' | 'backend' | 'reload' | 'rewards'> = {}): Promise<FastifyInstance> {
  const { backend } = await selectBackend();
  const load = async (): Promise<GatewayState> => {
    const cfg = await loadConfig(configPath);
    const router = await createRouter(cfg, { backend });
    const upstreams = await createUpstreams(cfg);
    return { router, upstreams, rewards: await loadRewards(cfg, backend, upstreams, router.registry) };
  };
  const state = await load();
  return buildGateway({ ...options, ...state, backend: backend.name, reload: load });
}

export { buildGateway, type GatewayOptions, type GatewayState } from './app.js';
