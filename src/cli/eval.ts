import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import Table from 'cli-table3';

import { selectBackend } from '../compute/index.js';
import { loadEmbedder } from '../embed/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import {
  curveSvg,
  type EvalResult,
  evaluateCV,
  evaluateSplit,
  loadJsonl,
  loadRouteLLM,
  loadRouterBench,
  markdownReport,
  type Prices,
  reliabilitySvg,
} from '../eval/index.js';
import { loadConfig } from '../config/index.js';
import { loadRouterModel } from '../router/index.js';
import { tableStyle } from './table-style.js';
import { EVAL_DATASETS } from './eval-datasets.js';

export { EVAL_DATASETS };

export interface EvalCommandOptions {
  dataset: string;
  data?: string;
  train?: string;
  test?: string;
  out: string;
  model?: string;
  folds: string;
  innerFolds: string;
  seed: string;
  k: string;
  embedder: string;
  config?: string;
  json?: boolean;
}

const bad = (param: string, msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, msg, { param });
};

/** `arbiter eval --dataset <name> --data <path> --out <dir> [--model dir] [--folds k] [--json]` */
// eslint-disable-next-line max-lines-per-function -- a command: load, evaluate, print the table, write the report; read top to bottom
export async function evalCommand(o: EvalCommandOptions): Promise<void> {
  if (!(EVAL_DATASETS as readonly string[]).includes(o.dataset))
    bad('dataset', `--dataset must be one of ${EVAL_DATASETS.join(', ')}, got ${o.dataset}`);
  const folds = Number(o.folds);
  const innerFolds = Number(o.innerFolds);
  if (!Number.isInteger(innerFolds) || innerFolds < 2 || innerFolds > 20)
    bad('inner-folds', `--inner-folds must be an integer from 2 to 20, got ${o.innerFolds}`);
  const seed = Number(o.seed);
  const k = Number(o.k);
  if (!Number.isInteger(folds) || folds < 2 || folds > 50)
    bad('folds', `--folds must be an integer from 2 to 50, got ${o.folds}`);
  if (!Number.isInteger(seed)) bad('seed', `--seed must be an integer, got ${o.seed}`);
  if (!Number.isInteger(k) || k < 1 || k > 1024) bad('k', `--k must be an integer from 1 to 1024, got ${o.k}`);
  const split = o.dataset === 'jsonl' && (o.train !== undefined || o.test !== undefined);
  if (split && (!o.train || !o.test)) bad(o.train ? 'test' : 'train', '--train and --test go together (jsonl files)');
  if ((o.train || o.test) && o.dataset !== 'jsonl') bad('train', '--train and --test are for --dataset jsonl');
  if (!split && !o.data) bad('data', '--data is required (or, for jsonl, --train and --test)');
  if (o.model && o.dataset !== 'routerbench' && !split)
    bad(
      'model',
      '--model evaluates a trained router on a test split: --dataset routerbench, or jsonl with --train and --test',
    );
  const prices: Prices = {};
  if (o.config) for (const m of (await loadConfig(o.config)).models) prices[m.id] = m.cost;

  const { backend } = await selectBackend();
  const embedder = await loadEmbedder(o.embedder, backend);
  // progress on stderr, terminal or not (a long run in CI or a log shows where it is)
  const log = (msg: string) => void process.stderr.write(`arbiter eval: ${msg}\n`);
  const t0 = performance.now();
  let result: EvalResult;
  if (o.dataset === 'routerbench' || split) {
    const [train, test] = split
      ? await Promise.all([loadJsonl(o.train!), loadJsonl(o.test!)])
      : await Promise.all([loadRouterBench(o.data!, 'train'), loadRouterBench(o.data!, 'test')]);
    if (o.model) {
      const m = await loadRouterModel(o.model, embedder, backend);
      const report = JSON.parse(
        await import('node:fs/promises').then((fs) => fs.readFile(join(o.model!, 'report.json'), 'utf8')),
      ) as { operatingPoints?: Array<{ name: string; costWeight: number }> };
      result = await evaluateSplit(o.dataset, train, test, embedder, backend, {
        k,
        seed,
        prices,
        innerFolds,
        model: { ...m, operatingPoints: report.operatingPoints ?? [] },
        log,
      });
      m.manifold.free();
    } else {
      result = await evaluateSplit(o.dataset, train, test, embedder, backend, {
        k,
        seed,
        prices,
        innerFolds,
        log,
      });
    }
  } else {
    const sub = { 'routellm-mmlu': 'mmlu', 'routellm-gsm8k': 'gsm8k', 'routellm-mtbench': 'mt_bench' }[
      o.dataset as string
    ];
    const records =
      o.dataset === 'jsonl'
        ? await loadJsonl(o.data!)
        : await loadRouteLLM(sub && !o.data!.replace(/\/+$/, '').endsWith(sub) ? join(o.data!, sub) : o.data!);
    if (records.length < folds * 2) bad('data', `${o.data}: ${records.length} records are too few for ${folds} folds`);
    result = await evaluateCV(o.dataset, records, folds, embedder, backend, { k, seed, prices, innerFolds, log });
  }
  const secs = (performance.now() - t0) / 1000;

  await mkdir(o.out, { recursive: true });
  await writeFile(join(o.out, 'curve.svg'), await curveSvg(result));
  await writeFile(join(o.out, 'reliability.svg'), await reliabilitySvg(result));
  await writeFile(
    join(o.out, 'report.md'),
    markdownReport(result, { curve: 'curve.svg', reliability: 'reliability.svg' }),
  );
  await writeFile(join(o.out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);

  if (o.json) {
    // the documented shape: {dataset, split, routers, operatingPoints, metrics}
    process.stdout.write(
      `${JSON.stringify({ dataset: result.dataset, split: result.split, routers: result.routers, operatingPoints: result.operatingPoints, metrics: result.metrics })}\n`,
    );
    return;
  }
  const m = result.metrics;
  const f3 = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(3));
  const pct = (x: number | null | undefined) =>
    x === null || x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(1)}%`;
  process.stdout.write(
    `${result.dataset}: ${result.split.regime}\n${result.split.train} training prompts, ${result.split.test} evaluated${result.split.droppedOverlap ? ` (${result.split.droppedOverlap} left out: also in training)` : ''}; costs ${result.split.costs}; ${secs.toFixed(1)} s\n`,
  );
  process.stdout.write(
    `best single model ${m.bestSingle.model}: ${f3(m.bestSingle.quality)} for $${m.bestSingle.cost.toFixed(2)}; oracle ${f3(m.oracle.quality)} for $${m.oracle.cost.toFixed(2)}\n`,
  );
  const op = new Table({
    ...tableStyle(),
    head: ['operating point (chosen on training data)', 'cost weight', 'quality', '95% CI', 'cost $', "of best's cost"],
  });
  for (const p of result.operatingPoints)
    op.push([
      p.target,
      p.param,
      f3(p.quality),
      `${f3(p.qualityCi[0])}–${f3(p.qualityCi[1])}`,
      p.cost.toFixed(3),
      pct(p.costShareOfBest),
    ]);
  process.stdout.write(`${op.toString()}\n`);
  const rt = new Table({
    ...tableStyle(),
    head: [
      'router (test curve)',
      'AIQ',
      'saving at 95%*',
      'oracle gain*',
      ...(m.pgr ? ['APGR', 'CPT(50%)', 'CPT(80%)'] : []),
    ],
  });
  for (const name of Object.keys(m.aiq))
    rt.push([
      name,
      f3(m.aiq[name]),
      pct(m.costSavingAt95[name]),
      pct(m.oracleGainShare[name]),
      ...(m.pgr ? [f3(m.pgr[name]?.apgr), pct(m.pgr[name]?.cpt50), pct(m.pgr[name]?.cpt80)] : []),
    ]);
  process.stdout.write(
    `${rt.toString()}\n* read off the test curve: the best setting in hindsight, an optimistic bound (the operating points above are the honest figures)\n`,
  );
  process.stdout.write(
    `within-task AUC ${f3(m.meanWithinTaskAuc)}; calibration ECE ${f3(m.calibration.ece)}; task accuracy ${f3(m.taskAccuracy)}; ${m.msPerPrompt.toFixed(3)} ms per prompt\nwrote ${join(o.out, 'report.md')}, result.json, curve.svg, reliability.svg\n`,
  );
}
