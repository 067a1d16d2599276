/**
 * How many route workers `arbiter route` starts by default. Each worker loads its own router, so a
 * large router model is held once per worker: a 200,000-point model's manifold and graph files
 * (341 MB) took 710-725 MB resident at the load's peak and ~240 MB about 8 s later (what was let
 * go then was not traced); a 1,000,000-point model's files are 1.7 GB. The workers load at the
 * same time, so the peak is what counts: by default they are a third of the cores, and no more
 * than half the memory free at the start holds at twice the model folder's bytes each plus a
 * worker's own heap; `--threads` overrides both.
 */
import { readdir, stat } from 'node:fs/promises';
import { cpus, freemem } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

import type { ArbiterConfig } from '../config/index.js';
import type { RouterSpec } from './route-protocol.js';

/** Loads the config (the command shares one load between this and its own check). */
export type ConfigLoader = () => Promise<ArbiterConfig>;
const loadFrom =
  (path: string): ConfigLoader =>
  async () =>
    (await import('../config/index.js')).loadConfig(path);

/** The share of the memory free at the start that the workers' routers may take. */
const MEMORY_SHARE = 0.5;
/** A worker's own memory besides its router model (V8's heap and modules, the embedder, batches in flight). */
export const WORKER_BASE_BYTES = 128 * 2 ** 20;
/** A router model's memory per byte of its folder's files at the load's peak (measured 2.1 at 200,000 points; 0.7 once settled). */
export const LOADED_PER_FILE_BYTE = 2;

/**
 * Route workers for a machine with `cores` cores: a third of them. Per prompt the JavaScript is
 * about a third of the work and the native pass, which runs on all cores, the rest, so a third of
 * the cores in JavaScript keeps them all busy; every worker more is another router to load and
 * another thread competing for the same cores (measured on 2 cores: one worker running two
 * batches routes ~9% faster than two workers running one each — docs/benchmarks.md). With
 * `memory` (`routerBytes`: the model folder's), no more than half the free memory holds (at least one).
 */
export function defaultWorkers(cores: number, memory?: { freeBytes: number; routerBytes: number }): number {
  const byCores = Math.max(1, Math.ceil(cores / 3));
  if (!memory) return byCores;
  const perWorker = memory.routerBytes * LOADED_PER_FILE_BYTE + WORKER_BASE_BYTES;
  const byMemory = Math.floor((memory.freeBytes * MEMORY_SHARE) / perWorker);
  return Math.max(1, Math.min(byCores, byMemory));
}

/**
 * The bytes of the router model folder a worker will load (`--model`, else the config's
 * `routing.model`, relative to the config file's folder); 0 when there is none or it cannot be
 * read — the workers then report what is wrong with it.
 */
export async function routerModelBytes(spec: RouterSpec, config = loadFrom(spec.config)): Promise<number> {
  try {
    let dir = spec.model;
    if (dir === undefined) {
      const cfg = await config();
      const model = cfg.routing.model;
      if (!model) return 0;
      dir = isAbsolute(model) ? model : resolve(dirname(cfg.source), model);
    }
    let bytes = 0;
    for (const e of await readdir(dir, { withFileTypes: true }))
      if (e.isFile()) bytes += (await stat(join(dir, e.name))).size;
    return bytes;
  } catch {
    return 0;
  }
}

/**
 * The default number of workers for `spec`: a third of the cores and, when that is more than one,
 * no more than half the free memory holds of the router model each (saying why on `warn` when
 * that is fewer). One worker needs no config read before it starts.
 */
export async function workersFor(
  spec: RouterSpec,
  machine: { cores: number; freeBytes: () => number } = { cores: cpus().length, freeBytes: freemem },
  warn: (line: string) => void = (line) => process.stderr.write(line),
  config = loadFrom(spec.config),
): Promise<number> {
  const byCores = defaultWorkers(machine.cores);
  if (byCores === 1) return 1;
  const routerBytes = await routerModelBytes(spec, config);
  const freeBytes = machine.freeBytes();
  const n = defaultWorkers(machine.cores, { freeBytes, routerBytes });
  const size = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GB` : `${Math.round(b / 2 ** 20)} MB`);
  if (n < byCores)
    warn(
      `arbiter route: ${n} route worker${n > 1 ? 's' : ''}, not ${byCores}: each loads its own copy of the router model (${size(routerBytes)} of files) and ${size(freeBytes)} of memory is free (--threads sets the number)\n`,
    );
  return n;
}
