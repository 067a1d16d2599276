/**
 * Piscina task file for `arbiter route`: each worker thread builds one router (config, default
 * embedder, the chosen compute backend) and routes whole batches. The build starts as the thread
 * does (from the pool's workerData), while the reading thread is still starting up.
 */
import { parentPort } from 'node:worker_threads';

import { isWorkerThread, move, transferableSymbol, valueSymbol, workerData } from 'piscina';

import { createBackend, selectBackend, type BackendName, type ComputeBackend } from '../compute/index.js';
import { loadEmbedder } from '../embed/index.js';
import { toArbiterError } from '../errors.js';
import { parsePromptLine } from './jsonl.js';
import { batchLines } from './line-batches.js';
import { LineWriter } from './line-writer.js';
import type { Decision } from '../router/index.js';
import { createRouter, pickDecision, type Router } from '../router/index.js';
import {
  MALFORMED,
  MODULES_LOADED,
  type LineProblem,
  type RouteResult,
  type RouteTask,
  type RouterSpec,
} from './route-protocol.js';

interface Item {
  id: string | number;
  prompt: string;
}

/** Parses one input line: a JSON object with a string `prompt` and an optional string/number `id` (default: the line number). */
export function parseLine(line: string, lineNo: number): Item | { error: string } {
  const p = parsePromptLine(line, lineNo);
  return 'error' in p ? p : { id: p.id ?? lineNo, prompt: p.prompt };
}

/**
 * The backend the command's probe most likely selects, without probing (~35 ms at start): the
 * warm start's. ARBITER_BACKEND's when set, else the first native one that loads (cuda, cpu) —
 * what the probe picks unless that backend answers wrongly; the first task names the selected
 * one and a router on another is rebuilt.
 */
async function likelyBackend(): Promise<ComputeBackend> {
  if (!process.env.ARBITER_BACKEND)
    for (const name of ['cuda', 'cpu'] as const) {
      try {
        return createBackend(name);
      } catch {
        // not built or no device: the next
      }
    }
  return (await selectBackend()).backend;
}

async function build(spec: RouterSpec, backendName?: BackendName): Promise<Router> {
  const backend = backendName ? createBackend(backendName) : await likelyBackend();
  return createRouter(spec.config, {
    backend,
    ...(spec.embedder ? { embedder: await loadEmbedder(spec.embedder, backend) } : {}),
    ...(spec.model ? { model: spec.model } : {}),
  });
}

// warm start, on the likely backend (the first task says which the command selected); a failure
// here is left for the first task's build to report
let router: Promise<Router | undefined> | undefined =
  isWorkerThread && (workerData as { warm?: RouterSpec } | undefined)?.warm
    ? build((workerData as { warm: RouterSpec }).warm).catch(() => undefined)
    : undefined;
// (said here, as the module is evaluated: the warm start goes on only while the worker is not
// blocked waiting for a task)
if (isWorkerThread) parentPort?.postMessage({ [MODULES_LOADED]: true });
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
export async function routeBatch(task: RouteTask): Promise<RouteResult> {
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
  const errors: LineProblem[] = [];
  const line = (w: LineWriter, d: Decision, i: number) =>
    w.objectWithId(items[i]!.id, JSON.stringify(task.fields ? pickDecision(d, task.fields) : d));
  // each decision written as it is made (it dies young), into this batch's own writer: the
  // worker's other batch writes between this one's awaits
  const bytesEach = task.fields ? 256 : 3072; // a whole decision's line is ~2.8 KB
  let writer = new LineWriter(bytesEach * prompts.length);
  try {
    if (prompts.length) await r.routeEach(prompts, task.options, (d, i) => line(writer, d, i));
  } catch {
    // one prompt that cannot be routed must not fail its batch: route each alone, report the bad
    // ones (the lines written before the failure are dropped with their writer)
    writer = new LineWriter(bytesEach * prompts.length);
    for (const [i, prompt] of prompts.entries()) {
      try {
        line(writer, (await r.routeBatch([prompt], task.options))[0]!, i);
      } catch (e) {
        const err = toArbiterError(e);
        errors.push({ lineNo: items[i]!.lineNo, code: err.code, message: err.message });
      }
    }
  }
  return { out: writer.take(true), routed: prompts.length - errors.length, malformed, errors };
}

/**
 * The pool's task: a batch routed, its result posted with the output bytes moved to the reading
 * thread rather than copied (Piscina's transferable protocol: the value, and what to transfer).
 */
export default async function routeTask(task: RouteTask): Promise<ReturnType<typeof move>> {
  const r = await routeBatch(task);
  return move({ [transferableSymbol]: r.out.buffer, [valueSymbol]: r });
}
