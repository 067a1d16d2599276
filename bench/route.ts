/**
 * Routing end to end, the project's main job:
 *   - batch: `arbiter route` as a user runs it (a child process: read JSONL, analyse, embed, kNN
 *     over a 10,000-point manifold, learned head and capabilities, decide, write JSONL), 20,000
 *     prompts, prompts/s over three runs; and the same with the `use` embedder on a sample;
 *   - in process: routeBatch over the same prompts in batches of 512 with the fused native pass and
 *     with the JavaScript reference path, and the exact-search floor (the kNN search alone);
 *   - latency: one `router.route()` call at a time in-process, p50 / p99 over 2,000 prompts, both paths.
 * The 10,000-point router model is trained here from RouteLLM's data with `arbiter train` (the
 * code path of the shipped model); prompts are RouteLLM's and RouterBench's, by path, cycled.
 *   npm run bench -- route     (BENCH_DATA=../shared/data by default)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createRouter } from '../src/index.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';
import { loadRouteLLM, loadRouterBench } from '../src/eval/index.js';
import { selectBackend } from '../src/compute/index.js';
import { loadAddon } from '../src/compute/addon.js';
import { extractQuestion } from '../src/analyze/index.js';

const data = process.env.BENCH_DATA ?? '../shared/data';
const root = new URL('../..', import.meta.url).pathname;
const cli = join(root, 'bin', 'arbiter.js');
const dir = mkdtempSync(join(tmpdir(), 'arbiter-bench-route-'));

const routellm = await loadRouteLLM(join(data, 'routellm'));
const routerbench = [
  ...(await loadRouterBench(join(data, 'routerbench'), 'train')),
  ...(await loadRouterBench(join(data, 'routerbench'), 'test')),
];
const manifoldSize = 10_000;
const trainFile = join(dir, 'train.jsonl');
// 10,000 reference points (+10% held out for the report)
writeFileSync(
  trainFile,
  routellm
    .slice(0, Math.round(manifoldSize / 0.9))
    .map((r) => JSON.stringify({ prompt: r.prompt, task: r.task, outcomes: r.outcomes }))
    .join('\n'),
);
const model = join(dir, 'model');
const run = (args: string[], input?: string, env?: Record<string, string>) => {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    ...(input ? { input } : {}),
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  if (r.status !== 0) throw new Error(`arbiter ${args.join(' ')} failed: ${r.stderr}`);
  return r;
};
run(['train', '--data', trainFile, '--format', 'jsonl', '--out', model, '--json']);
const points = JSON.parse(readFileSync(join(model, 'report.json'), 'utf8')) as { train: number };
const config = join(dir, 'config.yaml');
writeFileSync(
  config,
  [
    'models:',
    '  - { id: gpt-4-1106-preview, provider: { kind: openai, baseUrl: "http://127.0.0.1:9/v1" }, cost: { inputPer1k: 0.01, outputPer1k: 0.03 } }',
    '  - { id: mistralai/Mixtral-8x7B-Instruct-v0.1, provider: { kind: openai, baseUrl: "http://127.0.0.1:9/v1" }, cost: { inputPer1k: 0.0006, outputPer1k: 0.0006 } }',
    'routing:',
    `  model: ${model}`,
    '  strategy: balanced',
  ].join('\n'),
);

const pool = [...routellm.slice(Math.round(manifoldSize / 0.9)), ...routerbench].map((r) => r.prompt);
const n = 20_000;
const prompts = Array.from({ length: n }, (_, i) => pool[i % pool.length]!);
const avgChars = Math.round(prompts.reduce((s, p) => s + p.length, 0) / n);
const inFile = join(dir, 'prompts.jsonl');
writeFileSync(inFile, prompts.map((p, i) => JSON.stringify({ id: i, prompt: p })).join('\n'));

const rows: ResultRow[] = [];
const rate = (stderr: string) => {
  const m = /routed (\d+) prompts in ([\d.]+) s/.exec(stderr);
  if (!m) throw new Error(`no throughput line in: ${stderr}`);
  return { routed: Number(m[1]), secs: Number(m[2]) };
};
// three runs; the process's own figure (from starting the worker pool to the last decision written:
// routers loaded, config checked and backend probed included) and the wall time of the whole
// command (Node's start and module loading too). Where the CPU has AVX512-BF16 (the cosine
// search's bf16 first pass), each alternates with a run on the fp32 kernels alone.
const bf16 = loadAddon()?.info().simd === 'avx512bf16';
const routeRun = (env?: Record<string, string>) => {
  const t0 = performance.now();
  const r = run(['route', '--in', inFile, '--out', join(dir, 'out.jsonl'), '--config', config], undefined, env);
  return { ...rate(r.stderr), wall: (performance.now() - t0) / 1000 };
};
const runs: Array<ReturnType<typeof routeRun>> = [];
const fp32Runs: Array<ReturnType<typeof routeRun>> = [];
for (let i = 0; i < 3; i++) {
  runs.push(routeRun());
  if (bf16) fp32Runs.push(routeRun({ ARBITER_KERNELS: 'avx512f' }));
}
const med = <T>(xs: T[], f: (x: T) => number) => xs.map(f).sort((a, b) => a - b)[xs.length >> 1]!;
const secs = med(runs, (r) => r.secs);
const wall = med(runs, (r) => r.wall);
rows.push({
  name: 'arbiter route (static)',
  kind: 'backend',
  Q: n,
  medianMs: secs * 1000,
  qps: n / secs,
  note: `whole command incl. start: ${Math.round(n / wall)} prompts/s`,
});
if (bf16) {
  const fp32Secs = med(fp32Runs, (r) => r.secs);
  rows.push({
    name: 'arbiter route (static), fp32 search kernels',
    kind: 'peer',
    Q: n,
    medianMs: fp32Secs * 1000,
    qps: n / fp32Secs,
    note: 'ARBITER_KERNELS=avx512f: no bf16 first pass',
  });
}
const lines = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n');
if (lines.length !== n) throw new Error(`expected ${n} decisions, got ${lines.length}`);
// the same prompts cut to their first 160 characters: chat-sized requests
const shortFile = join(dir, 'short.jsonl');
writeFileSync(shortFile, prompts.map((p, i) => JSON.stringify({ id: i, prompt: p.slice(0, 160) })).join('\n'));
const shortRuns = [0, 1, 2].map(() =>
  rate(run(['route', '--in', shortFile, '--out', join(dir, 'out.jsonl'), '--config', config]).stderr),
);
const shortSecs = med(shortRuns, (r) => r.secs);
rows.push({
  name: 'arbiter route (static), 160-char prompts',
  kind: 'backend',
  Q: n,
  medianMs: shortSecs * 1000,
  qps: n / shortSecs,
});

// the use embedder's path: same command, the teacher embeds. A router reads embeddings only with
// a trained model (without one it routes by keywords and embeds nothing), and the 10,000-point one
// was trained with static: a small model is trained with use here, on every 37th training record
// (all of the data's tasks), and the run is checked to have read it
const useN = 400;
const useModel = join(dir, 'use-model');
const useTrain = join(dir, 'use-train.jsonl');
writeFileSync(
  useTrain,
  readFileSync(trainFile, 'utf8')
    .split('\n')
    .filter((_, i) => i % 37 === 0)
    .join('\n'),
);
run(['train', '--data', useTrain, '--format', 'jsonl', '--out', useModel, '--embedder', 'use', '--json']);
writeFileSync(
  join(dir, 'use.jsonl'),
  prompts
    .slice(0, useN)
    .map((p, i) => JSON.stringify({ id: i, prompt: p }))
    .join('\n'),
);
writeFileSync(
  join(dir, 'use.yaml'),
  readFileSync(config, 'utf8')
    .replace(/ {2}model: .*\n/, `  model: ${useModel}\n`)
    .replace('routing:', 'routing:\n  embedder: use'),
);
const useRun = rate(
  run(['route', '--in', join(dir, 'use.jsonl'), '--out', join(dir, 'use-out.jsonl'), '--config', join(dir, 'use.yaml')])
    .stderr,
);
// every prompt embedded: a task read from the model (or out of its distribution), none by keywords alone
const useSources = readFileSync(join(dir, 'use-out.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => (JSON.parse(l) as { task: { source: string } }).task.source);
if (useSources.length !== useN || useSources.some((s) => s === 'keywords'))
  throw new Error(`the use embedder's run did not embed every prompt: ${[...new Set(useSources)].join(', ')}`);
rows.push({
  name: 'arbiter route (use embedder)',
  kind: 'peer',
  Q: useN,
  medianMs: useRun.secs * 1000,
  qps: useN / useRun.secs,
  note: 'one run, a ~270-point model trained with use; embedding is ~all of it',
});

// in process, the same prompts in batches of 512 (the command's batch): the fused native pass
// against the JavaScript reference path, and the exact-search floor — the kNN search alone over
// the same manifold on all cores, the part no routing can skip (the target: the command
// at >= 60% of it)
const { backend } = await selectBackend();
const router = await createRouter(config, { backend });
const batches: string[][] = [];
for (let i = 0; i < n; i += 512) batches.push(prompts.slice(i, i + 512));
const inProcess = async (native: boolean) => {
  router.nativePass = native;
  await router.routeBatch(batches[0]!); // warm-up
  const t0 = performance.now();
  for (const b of batches) await router.routeBatch(b);
  return (performance.now() - t0) / 1000;
};
const fusedSecs = await inProcess(true);
const jsSecs = await inProcess(false);
router.nativePass = true;
const embeddings: Float32Array[] = [];
for (const b of batches) embeddings.push(await router.embedder.embed(b.map((p) => extractQuestion(p).question)));
const searchAll = async () => {
  const t0 = performance.now();
  for (const e of embeddings) await router.manifold.searchIndex.search(e, 16, 'cos');
  return (performance.now() - t0) / 1000;
};
// alternated, medians of three: the widest kernels (the bf16 first pass where the CPU has it) and,
// where it does, the fp32 kernels alone
const floorTimes: number[] = [];
const fp32FloorTimes: number[] = [];
for (let i = 0; i < 3; i++) {
  floorTimes.push(await searchAll());
  if (!bf16) continue;
  loadAddon()!.limitKernels('avx512f');
  fp32FloorTimes.push(await searchAll());
  loadAddon()!.limitKernels('best');
}
const floorSecs = med(floorTimes, (t) => t);
rows.push(
  {
    name: 'router.routeBatch(512), fused native pass',
    kind: 'backend',
    Q: n,
    medianMs: (fusedSecs / batches.length) * 1000,
    qps: n / fusedSecs,
    note: `${(jsSecs / fusedSecs).toFixed(2)}x the JS path`,
  },
  {
    name: 'router.routeBatch(512), JS reference path',
    kind: 'peer',
    Q: n,
    medianMs: (jsSecs / batches.length) * 1000,
    qps: n / jsSecs,
  },
  {
    name: 'exact-search floor (kNN search alone)',
    kind: 'ceiling',
    Q: n,
    medianMs: (floorSecs / batches.length) * 1000,
    qps: n / floorSecs,
    note: `arbiter route at ${((100 * (n / secs)) / (n / floorSecs)).toFixed(0)}% of it${bf16 ? '; bf16 first pass' : ''}`,
  },
);
const fp32FloorSecs = bf16 ? med(fp32FloorTimes, (t) => t) : undefined;
if (fp32FloorSecs)
  rows.push({
    name: 'exact-search floor, fp32 kernels',
    kind: 'peer',
    Q: n,
    medianMs: (fp32FloorSecs / batches.length) * 1000,
    qps: n / fp32FloorSecs,
    note: `the bf16 first pass: ${(fp32FloorSecs / floorSecs).toFixed(2)}x faster`,
  });

// latency of single route() calls in-process, fused (the default) and the JS path
const latency = async (native: boolean) => {
  router.nativePass = native;
  const lat: number[] = [];
  for (let i = 0; i < 200; i++) await router.route(prompts[i]!); // warm-up
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await router.route(prompts[(i * 7) % n]!);
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  return (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
};
const jsPct = await latency(false);
const pct = await latency(true);
const latencyRow = (name: string, kind: ResultRow['kind'], at: (p: number) => number): ResultRow => ({
  name,
  kind,
  Q: 1,
  medianMs: at(0.5),
  qps: 1000 / at(0.5),
  note: `p99 ${at(0.99).toFixed(3)} ms, max ${at(1).toFixed(3)} ms`,
});
rows.push(latencyRow('router.route() p50', 'backend', pct), latencyRow('router.route() p50, JS path', 'peer', jsPct));

printTable(
  `Routing: ${n.toLocaleString('en-US')} prompts (avg ${avgChars} chars), ${points.train.toLocaleString('en-US')}-point manifold, ${backend.name} backend`,
  rows,
  'prompts/s',
);
const summary = {
  batchPromptsPerSec: Math.round(n / secs),
  batchRuns: runs,
  batchShortPromptsPerSec: Math.round(n / shortSecs),
  useEmbedderPromptsPerSec: Number((useN / useRun.secs).toFixed(1)),
  overUse: Number((n / secs / (useN / useRun.secs)).toFixed(0)),
  routeP50Ms: Number(pct(0.5).toFixed(3)),
  routeP99Ms: Number(pct(0.99).toFixed(3)),
  routeJsP50Ms: Number(jsPct(0.5).toFixed(3)),
  routeJsP99Ms: Number(jsPct(0.99).toFixed(3)),
  inProcessFusedPerSec: Math.round(n / fusedSecs),
  inProcessJsPerSec: Math.round(n / jsSecs),
  exactSearchFloorPerSec: Math.round(n / floorSecs),
  ...(fp32FloorSecs ? { exactSearchFloorFp32PerSec: Math.round(n / fp32FloorSecs) } : {}),
  ...(bf16 ? { batchFp32KernelsPromptsPerSec: Math.round(n / med(fp32Runs, (r) => r.secs)) } : {}),
  ofFloor: Number((n / secs / (n / floorSecs)).toFixed(3)),
  manifoldPoints: points.train,
  avgChars,
};
process.stdout.write(
  `summary: ${JSON.stringify(summary)}\nwrote ${writeResults('route', { shape: { prompts: n, manifoldPoints: points.train, avgChars, data }, results: rows, summary })}\n`,
);
