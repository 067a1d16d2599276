/**
 * Piscina task file for `arbiter route`: each worker thread builds one router (config, default
 * embedder, the chosen compute backend) and routes whole batches. The build starts as the thread
 * does (from the pool's workerData), while the reading thread is still starting up.
 */
import { isWorkerThread, workerData } from 'piscina';

import { createBackend, selectBackend, type BackendName } from '../compute/index.js';
import { loadEmbedder } from '../embed/index.js';
import { toArbiterError } from '../errors.js';
import { parsePromptLine } from './jsonl.js';
import { batchLines } from './line-batches.js';
import { LineWriter } from './line-writer.js';
import type { Decision, RouteOptions } from '../router/index.js';
import { createRouter, pickDecision, type DecisionField, type Router } from '../router/index.js';

/** What a worker's router is built from. */
export interface RouterSpec {
  config: string;
  /** A trained router model folder. */
  model?: string;
  /** Embedder spec (loadEmbedder); default: the config's. */
  embedder?: string;
}

export interface RouteTask extends RouterSpec {
  /** The backend the command selected: a router built on another one is rebuilt on it. */
  backend: BackendName;
  /** Whole JSONL lines (line-batches.ts), decoded and parsed here rather than on the reading thread. */
  bytes: Uint8Array;
  /** The number of the first line. */
  firstLine: number;
  /** Stop at the first malformed line (its lines before it are routed). */
  strict?: boolean;
  options?: RouteOptions;
  /** Only these decision fields (--fields); default: the whole decision. */
  fields?: DecisionField[];
}

export const MALFORMED = 'malformed';

/** A line that could not be read or routed, reported by the command with its number. */
export interface LineProblem {
  lineNo: number;
  /** MALFORMED (not a prompt line) or the routing error's code. */
  code: string;
  message: string;
}

export interface RouteResult {
  /** The decisions as JSONL, UTF-8. */
  out: Uint8Array;
  routed: number;
  /** Malformed lines, in order (in strict mode at most one: the batch stopped there). */
  malformed: LineProblem[];
  /** Prompts that could not be routed. */
  errors: LineProblem[];
}

interface Item {
  id: string | number;
  prompt: string;
}

/** Parses one input line: a JSON object with a string `prompt` and an optional string/number `id` (default: the line number). */
export function parseLine(line: string, lineNo: number): Item | { error: string } {
  const p = parsePromptLine(line, lineNo);
  return 'error' in p ? p : { id: p.id ?? lineNo, prompt: p.prompt };
}

async function build(spec: RouterSpec, backendName?: BackendName): Promise<Router> {
  const backend = backendName ? createBackend(backendName) : (await selectBackend()).backend;
  return createRouter(spec.config, {
    backend,
    ...(spec.embedder ? { embedder: await loadEmbedder(spec.embedder, backend) } : {}),
    ...(spec.model ? { model: spec.model } : {}),
  });
}

// warm start, on the backend this thread's own probe selects (the first task says which the
// command selected); a failure here is left for the first task's build to report
let router: Promise<Router | undefined> | undefined =
  isWorkerThread && (workerData as { warm?: RouterSpec } | undefined)?.warm
    ? build((workerData as { warm: RouterSpec }).warm).catch(() => undefined)
    : undefined;
// shared by the batches this worker runs at once: each fills and takes it without an await between
const writer = new LineWriter();

/** The worker's router, on the task's backend: the warm one when it matches, else built (once, for concurrent tasks). */
async function routerFor(task: RouteTask): Promise<Router> {
  for (;;) {
    const p = router;
    const r = await p;
    if (r && r.manifold.backend.name === task.backend) return r;
    if (router === p) {
      r?.close(); // the warm one, on another backend: its native memory goes back
      router = build(task, task.backend); // (not replaced meanwhile by another task)
    }
  }
}

/**
 * Reads, routes and serialises one batch: the decisions as UTF-8 JSONL (one per prompt, with its
 * id), the malformed lines and the prompts that could not be routed. Doing all of it here keeps
 * the reading thread to finding newlines and writing bytes.
 */
export default async function routeBatch(task: RouteTask): Promise<RouteResult> {
  const r = await routerFor(task);
  const items: Array<Item & { lineNo: number }> = [];
  const malformed: LineProblem[] = [];
  for (const { line, lineNo } of batchLines(task)) {
    const parsed = parseLine(line, lineNo);
    if ('error' in parsed) {
      malformed.push({ lineNo, code: MALFORMED, message: parsed.error.replace(/^line \d+: /, '') });
      if (task.strict) break;
    } else items.push({ ...parsed, lineNo });
  }
  const prompts = items.map((i) => i.prompt);
  let decisions: Array<Decision | undefined>;
  const errors: LineProblem[] = [];
  try {
    decisions = prompts.length ? await r.routeBatch(prompts, task.options) : [];
  } catch {
    // one prompt that cannot be routed must not fail its batch: route each alone, report the bad ones
    decisions = [];
    for (const [i, prompt] of prompts.entries()) {
      try {
        decisions.push((await r.routeBatch([prompt], task.options))[0]);
      } catch (e) {
        decisions.push(undefined);
        const err = toArbiterError(e);
        errors.push({ lineNo: items[i]!.lineNo, code: err.code, message: err.message });
      }
    }
  }
  decisions.forEach((d, i) => {
    if (d) writer.objectWithId(items[i]!.id, JSON.stringify(task.fields ? pickDecision(d, task.fields) : d));
  });
  return { out: writer.take(), routed: decisions.length - errors.length, malformed, errors };
}
