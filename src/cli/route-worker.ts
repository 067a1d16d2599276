/**
 * Piscina task file for `arbiter route`: each worker thread builds one router (config, default
 * embedder, the chosen compute backend) on first use and routes whole batches.
 */
import { createBackend, type BackendName } from '../compute/index.js';
import { loadEmbedder } from '../embed/index.js';
import { toArbiterError } from '../errors.js';
import type { Decision, RouteOptions } from '../router/index.js';
import { createRouter, pickDecision, type DecisionField, type Router } from '../router/index.js';

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
  /** Only these decision fields (--fields); default: the whole decision. */
  fields?: DecisionField[];
}

let router: Promise<Router> | undefined;

/**
 * Routes one batch and returns its output lines (JSONL, one decision per prompt with its id) and the
 * prompts that could not be routed:
 * serialising here keeps the main thread to reading and writing, and a string crosses the thread
 * boundary far cheaper than the decision objects would.
 */
/** A prompt of the batch that could not be routed (its index in the batch), reported per line by the command. */
export interface RouteError {
  index: number;
  code: string;
  message: string;
}

export default async function routeBatch(task: RouteTask): Promise<{ lines: string; errors: RouteError[] }> {
  router ??= (async () => {
    const backend = createBackend(task.backend);
    return createRouter(task.config, {
      backend,
      ...(task.embedder ? { embedder: await loadEmbedder(task.embedder, backend) } : {}),
      ...(task.model ? { model: task.model } : {}),
    });
  })();
  const r = await router;
  let decisions: Array<Decision | undefined>;
  const errors: RouteError[] = [];
  try {
    decisions = await r.routeBatch(task.prompts, task.options);
  } catch {
    // one prompt that cannot be routed must not fail its batch: route each alone, report the bad ones
    decisions = [];
    for (const [i, prompt] of task.prompts.entries()) {
      try {
        decisions.push((await r.routeBatch([prompt], task.options))[0]);
      } catch (e) {
        decisions.push(undefined);
        const err = toArbiterError(e);
        errors.push({ index: i, code: err.code, message: err.message });
      }
    }
  }
  let lines = '';
  decisions.forEach((d, i) => {
    if (d) lines += `${JSON.stringify({ id: task.ids[i], ...(task.fields ? pickDecision(d, task.fields) : d) })}\n`;
  });
  return { lines, errors };
}
