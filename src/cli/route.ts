/**
 * `arbiter route --in prompts.jsonl --out decisions.jsonl [--config file]`: streams any number
 * of prompts in constant memory. Lines are read in batches; batches are routed in a Piscina pool
 * (one router per worker thread) with a bounded number in flight, and written in input order.
 * A malformed line is reported with its line number and skipped (--strict stops there).
 */
import { createWriteStream, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import cliProgress from 'cli-progress';
import { Piscina } from 'piscina';

import type { BackendName } from '../compute/index.js';
import type { ArbiterConfig, Strategy } from '../config/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { DecisionField } from '../router/index.js';
import { openInput, write } from './jsonl.js';
import { LineBatcher, type LineBatch } from './line-batches.js';
import {
  MALFORMED,
  MODULES_LOADED,
  type LineProblem,
  type RouteResult,
  type RouteTask,
  type RouterSpec,
} from './route-protocol.js';
import { workersFor } from './route-workers.js';

export interface RouteCommandOptions {
  in: string;
  out?: string;
  config: string;
  strict?: boolean;
  batch: string;
  threads?: string;
  strategy?: string;
  model?: string;
  embedder?: string;
  fields?: string;
}

const int = (v: string | undefined, name: string, min: number, max: number, dflt: number) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `--${name} must be an integer from ${min} to ${max}, got ${v}`,
      { param: name },
    );
  return n;
};

/**
 * Batches a route worker runs at once: while one waits on its native pass (analysis, tokens,
 * pooling and search on every core), the other's JavaScript (votes, head, decisions, JSON) runs.
 */
export const BATCHES_PER_WORKER = 2;
/**
 * The longest a command that fails before routing waits for its workers to load their modules
 * (route-protocol.ts's MODULES_LOADED) before stopping them: well under a second normally.
 */
const LOAD_WAIT_MS = 5_000;

// eslint-disable-next-line max-lines-per-function -- a command: open input, start the worker pool, stream batches in order with backpressure and progress
export async function routeCommand(o: RouteCommandOptions): Promise<void> {
  const batch = int(o.batch, 'batch', 1, 100_000, 512);
  const spec: RouterSpec = {
    config: o.config,
    ...(o.embedder ? { embedder: o.embedder } : {}),
    ...(o.model ? { model: o.model } : {}),
  };
  // one load of the config, shared: the workers' default (more than one by the cores) reads the
  // router model's size from it before the pool starts, the check below awaits the same load
  let configLoad: Promise<ArbiterConfig> | undefined;
  const loadConfigOnce = () => (configLoad ??= import('../config/index.js').then((c) => c.loadConfig(o.config)));
  const threads =
    o.threads === undefined
      ? await workersFor(spec, undefined, undefined, loadConfigOnce)
      : int(o.threads, 'threads', 1, 256, 1);
  // the workers start loading their routers first (this module imports no more than it needs to
  // start them: the config, router and compute modules take ~100 ms to load), while this thread
  // loads those, checks the options and the config and probes the backend
  const t0 = performance.now(); // the reported time includes starting the pool and loading the routers
  const pool = new Piscina({
    filename: new URL('./route-worker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: BATCHES_PER_WORKER,
    workerData: { warm: spec },
  });
  // every worker's modules loaded (or LOAD_WAIT_MS passed): then the pool may be stopped early
  let settled = 0;
  const warmed = new Promise<void>((resolve) =>
    pool.on('message', (m: unknown) => {
      if ((m as Record<string, unknown> | null)?.[MODULES_LOADED] === true && ++settled >= threads) resolve();
    }),
  );
  let input: Awaited<ReturnType<typeof openInput>>;
  let backend: BackendName;
  let fields: DecisionField[] | undefined;
  try {
    const [config, compute, router, embed] = await Promise.all([
      import('../config/index.js'),
      import('../compute/index.js'),
      import('../router/index.js'),
      import('../embed/index.js'),
    ]);
    if (o.strategy !== undefined && !(config.STRATEGIES as readonly string[]).includes(o.strategy))
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        `--strategy must be one of ${config.STRATEGIES.join(', ')}, got ${o.strategy}`,
        { param: 'strategy' },
      );
    fields = o.fields !== undefined ? router.parseFields(o.fields, 'fields') : undefined;
    if (o.embedder !== undefined) embed.parseEmbedderSpec(o.embedder);
    await loadConfigOnce(); // fail fast, with every config problem, before any work
    input = await openInput(o.in);
    backend = (await compute.selectBackend()).backend.name;
  } catch (e) {
    // (a timer that holds the process open: idle workers do not)
    const stop = new AbortController();
    await Promise.race([warmed, sleep(LOAD_WAIT_MS, undefined, { signal: stop.signal })]).catch(() => undefined);
    stop.abort();
    await pool.destroy();
    throw e;
  }
  const out: Writable = !o.out || o.out === '-' ? process.stdout : createWriteStream(o.out);
  const total = o.in === '-' ? 0 : statSync(o.in).size;
  const bar =
    process.stderr.isTTY && total > 0
      ? new cliProgress.SingleBar(
          { format: 'routing [{bar}] {percentage}% | {routed} prompts | {rate} prompts/s', stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(total, 0, { routed: 0, rate: 0 });
  let routed = 0;
  let malformed = 0;
  let unroutable = 0;
  let bytes = 0;
  let failure: ArbiterError | undefined;
  const pending: Array<Promise<RouteResult>> = [];
  const maxInFlight = threads * (BATCHES_PER_WORKER + 1); // one queued behind each worker's running ones
  const submit = (b: LineBatch) => {
    const task: RouteTask = {
      ...spec,
      backend,
      bytes: b.bytes,
      firstLine: b.firstLine,
      ...(o.strict ? { strict: true } : {}),
      ...(o.strategy ? { options: { strategy: o.strategy as Strategy } } : {}),
      ...(fields ? { fields } : {}),
    };
    pending.push(pool.run(task, { transferList: [b.bytes.buffer as ArrayBuffer] }) as Promise<RouteResult>);
  };
  const report = (p: LineProblem, what: string) => {
    const line = `line ${p.lineNo}: ${what}`;
    if (o.strict) failure ??= new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${line} (--strict)`, { param: 'in' });
    else process.stderr.write(`arbiter route: skipped ${line}\n`);
  };
  // in input order; in strict mode no batch after the one with the first problem is written
  const drainOne = async () => {
    const r = await pending.shift()!;
    if (failure) return;
    await write(out, r.out);
    for (const p of [...r.malformed, ...r.errors].sort((a, b) => a.lineNo - b.lineNo))
      report(p, p.code === MALFORMED ? p.message : `cannot route: ${p.code} ${p.message}`);
    malformed += r.malformed.length;
    unroutable += r.errors.length;
    routed += r.routed;
    bar?.update(bytes, { routed, rate: Math.round((routed * 1000) / (performance.now() - t0)) });
  };
  try {
    const batcher = new LineBatcher(batch);
    for await (const chunk of input as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      for (const b of batcher.push(chunk)) submit(b);
      while (pending.length >= maxInFlight && !failure) await drainOne(); // backpressure: constant memory
      if (failure) break;
    }
    const last = failure ? undefined : batcher.end();
    if (last) submit(last);
    while (pending.length) await drainOne();
  } finally {
    bar?.stop();
    // never destroy the pool with tasks running (a worker terminated mid-call loses its batch)
    await Promise.allSettled(pending);
    await pool.destroy();
    if (out !== process.stdout) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(r));
  }
  const secs = (performance.now() - t0) / 1000;
  process.stderr.write(
    `arbiter route: routed ${routed} prompts in ${secs.toFixed(2)} s (${Math.round(routed / secs)} prompts/s, ${threads} thread${threads > 1 ? 's' : ''}, ${backend} backend)${malformed ? `; ${malformed} malformed line${malformed > 1 ? 's' : ''} skipped` : ''}${unroutable ? `; ${unroutable} prompt${unroutable > 1 ? 's' : ''} could not be routed` : ''}\n`,
  );
  if (failure) throw failure;
}
