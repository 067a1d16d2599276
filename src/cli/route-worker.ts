/**
 * Piscina task file for `arbiter route`: each worker thread builds one router (config, default
 * embedder, the chosen compute backend) on first use and routes whole batches.
 */
import { createBackend, type BackendName } from '../compute/index.js';
import { loadEmbedder } from '../embed/index.js';
import { createRouter, type Router } from '../engine/index.js';
import type { Decision, RouteOptions } from '../router/index.js';

export interface RouteTask {
  config: string;
  backend: BackendName;
  /** A trained router model folder. */
  model?: string;
  /** Embedder spec (loadEmbedder); default: the config's. */
  embedder?: string;
  prompts: string[];
  options?: RouteOptions;
}

let router: Promise<Router> | undefined;

export default async function routeBatch(task: RouteTask): Promise<Decision[]> {
  router ??= (async () => {
    const backend = createBackend(task.backend);
    return createRouter(task.config, { backend, ...(task.embedder ? { embedder: await loadEmbedder(task.embedder, backend) } : {}), ...(task.model ? { model: task.model } : {}) });
  })();
  return (await router).routeBatch(task.prompts, task.options);
}
