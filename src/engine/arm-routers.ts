/**
 * Experiment arms that are trained routers: each loaded beside the engine's (same config, its
 * `routing.model` the arm's folder, resolved like the config's), keyed `<experiment>/<arm>`.
 */
import type { ComputeBackend } from '../compute/index.js';
import type { ArbiterConfig, ExperimentSettings } from '../config/index.js';
import type { Embedder } from '../embed/index.js';
import { createRouter, type Router } from '../router/index.js';

export async function loadArmRouters(
  cfg: ArbiterConfig,
  defs: readonly ExperimentSettings[],
  backend: ComputeBackend,
  into: Map<string, Router> = new Map(),
  embedder?: Embedder,
): Promise<Map<string, Router>> {
  for (const x of defs)
    for (const a of x.arms) {
      const key = `${x.id}/${a.id}`;
      if (a.router === undefined || into.has(key)) continue;
      into.set(
        key,
        await createRouter(
          { ...cfg, routing: { ...cfg.routing, model: a.router } },
          {
            backend,
            ...(embedder ? { embedder } : {}),
          },
        ),
      );
    }
  return into;
}
