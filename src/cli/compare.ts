/**
 * `arbiter compare`: models side by side on the same prompts — through the config's engine
 * (`--models a,b,… --prompts p.jsonl [--tests t.yaml]`), or from recorded data without calling
 * any (`--replay routerbench --data <folder>`) — scored, ranked with significance, and reported in
 * `--out` (report.md, report.html, report.json, win-matrix.svg, pareto.svg; results.jsonl for a
 * live run, which a rerun resumes). Every input problem is one coded line before any call.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import cliProgress from 'cli-progress';

import {
  analyzeComparison,
  compare,
  compareTable,
  DEFAULT_WEIGHTS,
  parseCases,
  parseWeights,
  readTests,
  replayRouterBench,
  writeReports,
  type CallResult,
  type TestsFile,
} from '../compare/index.js';
import { createArbiter } from '../engine/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';

export interface CompareCliOptions {
  config: string;
  models?: string;
  prompts?: string;
  tests?: string;
  out: string;
  concurrency: string;
  perModel?: string;
  timeoutMs: string;
  retries: string;
  weights?: string;
  maxModels: string;
  dryRun?: boolean;
  judge?: string;
  pairwise?: boolean;
  replay?: string;
  data?: string;
  json?: boolean;
}

const int = (v: string, flag: string, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--${flag} must be an integer ≥ ${min}, got ${v}`, {
      param: flag,
    });
  return n;
};

/** Progress: a bar on a terminal, a line per tenth elsewhere (logs and CI see it too). */
function progress(total: number): (done: number) => void {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'compare [{bar}] {percentage}% | {value}/{total} calls', stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return (done) => (done >= total ? bar.stop() : bar.update(done));
  }
  let shown = 0;
  return (done) => {
    const tenth = Math.floor((10 * done) / total);
    if (tenth > shown || done === total) {
      shown = tenth;
      process.stderr.write(`compare: ${done}/${total} calls (${Math.round((100 * done) / total)}%)\n`);
    }
  };
}

export async function compareCommand(o: CompareCliOptions): Promise<void> {
  const weights = o.weights ? parseWeights(o.weights) : undefined;
  const maxModels = int(o.maxModels, 'max-models', 2);
  if (o.replay) return replayCommand(o, weights);
  if (!o.models)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, '--models is required (a,b,…)', { param: 'models' });
  if (!o.prompts)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, '--prompts is required (JSONL)', { param: 'prompts' });
  let text: string;
  try {
    text = await readFile(o.prompts, 'utf8');
  } catch (e) {
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `cannot read ${o.prompts}: ${(e as NodeJS.ErrnoException).code}`,
      {
        param: 'prompts',
      },
    );
  }
  const cases = parseCases(text, o.prompts);
  if (o.pairwise && !o.judge)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, '--pairwise needs --judge <model>', { param: 'pairwise' });
  const tests: TestsFile = o.tests ? await readTests(o.tests) : {};
  const models = o.models.split(',');
  const engine = await createArbiter(o.config);
  try {
    const tick = progress(cases.length * new Set(models).size);
    const { report } = await compare(engine, cases, {
      models,
      maxModels,
      concurrency: int(o.concurrency, 'concurrency', 1),
      ...(o.perModel ? { perModel: int(o.perModel, 'per-model', 1) } : {}),
      timeoutMs: int(o.timeoutMs, 'timeout-ms', 1),
      retries: int(o.retries, 'retries', 0),
      ...(tests.assert ? { assert: tests.assert } : {}),
      ...(tests.evaluators ? { evaluators: tests.evaluators } : {}),
      ...(tests.reward ? { reward: tests.reward } : {}),
      weights: weights ?? tests.weights ?? DEFAULT_WEIGHTS,
      out: o.out,
      learn: !o.dryRun,
      ...(o.judge ? { judge: o.judge, pairwise: o.pairwise === true } : {}),
      onResult: (_r: CallResult, done: number) => tick(done),
    });
    process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : compareTable(report));
    process.stderr.write(
      `compare: reports in ${o.out} (report.md, report.html, report.json, win-matrix.svg, pareto.svg)\n`,
    );
  } finally {
    await engine.close();
  }
}

async function replayCommand(
  o: CompareCliOptions,
  weights: ReturnType<typeof parseWeights> | undefined,
): Promise<void> {
  if (o.replay !== 'routerbench')
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--replay takes routerbench, got ${o.replay}`, {
      param: 'replay',
    });
  if (!o.data)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, '--data is required with --replay', { param: 'data' });
  const { cases, models, results } = await replayRouterBench(o.data, o.models?.split(','));
  const report = analyzeComparison(cases, models, results, weights ?? DEFAULT_WEIGHTS);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(o.out, { recursive: true });
  await writeReports(o.out, report);
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : compareTable(report));
  process.stderr.write(
    `compare: ${cases.length} recorded prompts, ${models.length} models; reports in ${join(o.out)}\n`,
  );
}
