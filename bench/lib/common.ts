/** Shared benchmark plumbing: timing with tinybench, machine description, table and JSON output. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Table from 'cli-table3';
import { Bench } from 'tinybench';

import { loadAddon } from '../../src/compute/addon.js';
import { type BackendName, type ComputeBackend, createBackend } from '../../src/compute/index.js';
import { seededRandom } from '../../src/stats/index.js';

export interface ResultRow {
  name: string;
  kind: 'backend' | 'peer' | 'ceiling';
  Q: number;
  medianMs: number;
  qps: number;
  gflops?: number;
  gbps?: number;
  note?: string;
}

/** Median latency (ms) of fn with tinybench: a warm-up run (unless disabled), then at least `iterations` runs or `time` ms. */
export async function medianMs(
  fn: () => unknown,
  options: { iterations?: number; time?: number; warmup?: boolean } = {},
): Promise<number> {
  const warmup = options.warmup ?? true;
  const bench = new Bench({
    iterations: options.iterations ?? 5,
    time: options.time ?? 1000,
    warmup,
    warmupIterations: 1,
    warmupTime: 0,
  });
  bench.add('task', fn);
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`benchmark task ${r.state}: ${'error' in r ? String(r.error) : ''}`);
  return r.latency.p50;
}

/**
 * Medians of several contenders measured in alternating passes (A B C, A B C, ...), each pass
 * timed by tinybench, the result the median of the pass medians: drift on a shared machine then
 * hits every contender alike. Iterations per pass adapt to about `passMs` per contender.
 */
export async function interleavedMedians(
  contenders: Array<{ name: string; fn: () => unknown }>,
  options: { passes?: number; passMs?: number } = {},
): Promise<Map<string, number>> {
  const passes = options.passes ?? 3;
  const passMs = options.passMs ?? 600;
  const iterations = new Map<string, number>();
  for (const c of contenders) {
    const t0 = performance.now();
    await c.fn(); // warm-up, and a first estimate of the cost
    const once = performance.now() - t0;
    iterations.set(c.name, Math.min(50, Math.max(1, Math.round(passMs / Math.max(once, 1e-3)))));
  }
  const perPass = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let p = 0; p < passes; p++)
    for (const c of contenders)
      perPass.get(c.name)!.push(await medianMs(c.fn, { iterations: iterations.get(c.name)!, time: 0, warmup: false }));
  return new Map([...perPass].map(([name, ms]) => [name, ms.sort((a, b) => a - b)[ms.length >> 1]!]));
}

/** For each contender after the first, `max |diff| e` of its output against the first one's. */
export async function maxDiffNotes(
  contenders: Array<{ name: string; fn: () => Promise<Float32Array> }>,
): Promise<Map<string, string>> {
  const want = await contenders[0]!.fn();
  const notes = new Map<string, string>();
  for (const c of contenders.slice(1)) {
    const got = await c.fn();
    let err = got.length === want.length ? 0 : Infinity;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
    notes.set(c.name, `max |diff| ${err.toExponential(1)}`);
  }
  return notes;
}

/** Every compute backend that loads here, fastest kinds first (cpu, cuda, gpujs, js). */
export function loadedBackends(): ComputeBackend[] {
  const out: ComputeBackend[] = [];
  for (const name of ['cpu', 'cuda', 'gpujs', 'js'] as BackendName[]) {
    try {
      out.push(createBackend(name));
    } catch {
      /* not available on this machine: the bench reports what ran */
    }
  }
  return out;
}

export function machine(): Record<string, unknown> {
  const info = loadAddon()?.info();
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    arch: arch(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    nativeSimd: info?.simd ?? 'addon not loaded',
    nativeThreads: info?.threads ?? 0,
    cuda: info?.cuda.available ? info.cuda.device : `unavailable (${info?.cuda.reason ?? 'no addon'})`,
    date: new Date().toISOString(),
  };
}

const fmt = (x: number | undefined, digits = 1) =>
  x === undefined ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function printTable(title: string, rows: ResultRow[], unit = 'queries/s'): void {
  const t = new Table({ head: ['name', 'kind', 'Q', 'median ms', unit, 'GFLOP/s', 'GB/s', 'note'] });
  for (const r of rows)
    t.push([r.name, r.kind, r.Q, fmt(r.medianMs, 3), fmt(r.qps), fmt(r.gflops), fmt(r.gbps), r.note ?? '']);
  process.stdout.write(`\n${title}\n${t.toString()}\n`);
}

export function writeResults(
  name: string,
  payload: { shape: Record<string, unknown>; results: ResultRow[]; [k: string]: unknown },
): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'results');
  mkdirSync(root, { recursive: true });
  const file = join(root, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: machine(), ...payload }, null, 2)}\n`);
  return file;
}

/** Standard normal values from a seeded generator (mulberry32 + Box-Muller): never zeros. */
export function randomNormal(n: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/** The median of xs (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
