/**
 * Piscina task file for `arbiter route`: each worker thread builds one router (config, default
 * embedder, the chosen compute backend) on first use and routes whole batches.
 */
import { createBackend, type BackendName } from '../compute/index.js';
import { loadEmbedder } from '../embed/index.js';
import type { Decision, RouteOptions } from '../router/index.js';
import { createRouter, type Router } from '../router/index.js';

export interface RouteTask {
  config: string;
  backend: BackendName;
  /** A trained router model folder. */
  model?: string;
  /** Embedder spec (loadEmbedder); default: the config's. */
  embedder?: string;
  prompts: string[];
  /** The output id of each prompt. */
  ids: Array<string | number>;
  options?: RouteOptions;
}

let router: Promise<Router> | undefined;

/**
 * Routes one batch and returns its output lines (JSONL, one decision per prompt with its id):
 * serialising here keeps the main thread to reading and writing, and a string crosses the thread
 * boundary far cheaper than the decision objects would.
 */
export default async function routeBatch(task: RouteTask): Promise<string> {
  router ??= (async () => {
    const backend = createBackend(task.backend);
    return createRouter(task.config, {
      backend,
      ...(task.embedder ? { embedder: await loadEmbedder(task.embedder, backend) } : {}),
      ...(task.model ? { model: task.model } : {}),
    });
  })();
  const decisions: Decision[] = await (await router).routeBatch(task.prompts, task.options);
  let text = '';
  decisions.forEach((d, i) => (text += `${JSON.stringify({ id: task.ids[i], ...d })}\n`));
  return text;
}
