import cliProgress from 'cli-progress';
import Table from 'cli-table3';

import { selectBackend } from '../compute/index.js';
import { loadEmbedder } from '../embed/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import {
  costMatrix,
  loadJsonl,
  loadRouteLLM,
  loadRouterBench,
  type OutcomeRecord,
  type Prices,
} from '../eval/index.js';
import { loadConfig } from '../config/index.js';
import { saveRouterModel, train } from '../learn/index.js';
import { tableStyle } from './table-style.js';

/**
 * Records' missing costs, filled with the config's prices (token counts where the data has them,
 * else estimated from lengths); observed costs are kept. Without costs the router learns only
 * degenerate operating points (cost weight 0, $0).
 */
async function withPrices(records: OutcomeRecord[], configPath: string): Promise<OutcomeRecord[]> {
  const prices: Prices = {};
  for (const m of (await loadConfig(configPath)).models) prices[m.id] = m.cost;
  const models = [...new Set(records.flatMap((r) => Object.keys(r.outcomes)))];
  const { cost } = costMatrix(records, models, prices);
  return records.map((r, i) => ({
    ...r,
    costs: Object.fromEntries(
      models.flatMap((m, j) => (m in r.outcomes ? [[m, r.costs[m] ?? cost[i]![j]!] as const] : [])),
    ),
  }));
}

const LOADERS: Record<string, (path: string) => Promise<OutcomeRecord[]>> = {
  routerbench: (p) => loadRouterBench(p, 'train'),
  routellm: (p) => loadRouteLLM(p),
  jsonl: loadJsonl,
};

/** The records of every --data source, each read in its --format (a single format applies to all). */
async function loadSources(data: readonly string[], formats: readonly string[]): Promise<OutcomeRecord[]> {
  if (formats.length !== 1 && formats.length !== data.length)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `give one --format, or one per --data (${data.length}), not ${formats.length}`,
      { param: 'format' },
    );
  const out: OutcomeRecord[] = [];
  for (const [i, path] of data.entries()) {
    const format = formats[Math.min(i, formats.length - 1)]!;
    const load = LOADERS[format];
    if (!load)
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        `--format must be one of ${Object.keys(LOADERS).join(', ')}, got ${format}`,
        { param: 'format' },
      );
    const recs = await load(path);
    if (!recs.length) throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${path}: no records`, { param: 'data' });
    out.push(...recs);
  }
  return out;
}

/** Applies `from=to` aliases to the records' outcome and cost keys. */
function renameModels(records: OutcomeRecord[], aliases: readonly string[]): OutcomeRecord[] {
  const map = new Map<string, string>();
  for (const a of aliases) {
    const [from, to, ...rest] = a.split('=');
    if (!from || !to || rest.length)
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--alias must be from=to, got ${a}`, { param: 'alias' });
    map.set(from, to);
  }
  if (!map.size) return records;
  const rename = <T>(o: Record<string, T>) =>
    Object.fromEntries(Object.entries(o).map(([m, v]) => [map.get(m) ?? m, v]));
  return records.map((r) => ({ ...r, outcomes: rename(r.outcomes), costs: rename(r.costs) }));
}

export interface TrainCommandOptions {
  /** A config whose model prices cost records without costs. */
  config?: string;
  /** One or more sources, each with its format (one format: all of them). */
  data: string[];
  format: string[];
  /** `from=to`: a model's outcomes under another id (one model named differently by two sources). */
  alias?: string[];
  out: string;
  val: string;
  seed: string;
  k: string;
  embedder: string;
  json?: boolean;
}

/** `arbiter train --data <file|dir> --format routerbench|routellm|jsonl --out models/<name>` */
// eslint-disable-next-line max-lines-per-function -- a command: load, train, print the report tables, save the model folder
export async function trainCommand(o: TrainCommandOptions): Promise<void> {
  const val = Number(o.val);
  const seed = Number(o.seed);
  const k = Number(o.k);
  if (!(val >= 0 && val < 1))
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--val must be a fraction in [0, 1), got ${o.val}`, {
      param: 'val',
    });
  if (!Number.isInteger(seed))
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--seed must be an integer, got ${o.seed}`, { param: 'seed' });
  if (!Number.isInteger(k) || k < 1 || k > 1024)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--k must be an integer from 1 to 1024, got ${o.k}`, {
      param: 'k',
    });
  const formats = o.format.length ? o.format : ['routerbench'];
  const loaded = renameModels(await loadSources(o.data, formats), o.alias ?? []);
  const records = o.config ? await withPrices(loaded, o.config) : loaded;
  const { backend } = await selectBackend();
  const embedder = await loadEmbedder(o.embedder, backend);
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        { format: 'embedding [{bar}] {value}/{total}', stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(records.length, 0);
  const t0 = performance.now();
  const trained = await train(records, embedder, backend, { valFraction: val, seed, k, log: (d) => bar?.update(d) });
  bar?.stop();
  const { manifold, report } = trained;
  await saveRouterModel(o.out, {
    ...trained,
    embedder,
    produced: {
      command: `arbiter train ${o.data.map((d, i) => `--data ${d} --format ${formats[Math.min(i, formats.length - 1)]}`).join(' ')} ${(o.alias ?? []).map((a) => `--alias ${a} `).join('')}${o.config ? `--config ${o.config} ` : ''}--out ${o.out} --val ${val} --seed ${seed} --k ${k} --embedder ${o.embedder}`,
      date: new Date().toISOString(),
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    },
  });
  manifold.free();
  if (o.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const pct = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(3));
  process.stdout.write(
    `trained on ${report.train} prompts, validated on ${report.validation} (seed ${seed}; ${report.droppedDuplicates} validation prompts dropped as duplicates of training ones); wrote ${o.out}\n`,
  );
  if (report.taskAccuracy !== null)
    process.stdout.write(
      `task accuracy (head + kNN vote, k = ${k}): ${report.taskAccuracy.toFixed(3)}; calibration error of its confidence (ECE, 10 bins): ${pct(report.taskCalibrationError ?? NaN)}` +
        (report.taskHead
          ? `; temperature ${report.taskHead.temperature}, kNN weight ${report.taskHead.knnWeight} (fitted out of fold)`
          : '') +
        '\n',
    );
  if (report.meanWithinTaskAuc)
    process.stdout.write(
      `mean within-task ROC AUC of predicted quality: ${pct(report.meanWithinTaskAuc.learned)} learned, ${pct(report.meanWithinTaskAuc.knn)} kNN vote alone\n`,
    );
  const t = new Table({
    ...tableStyle(),
    head: ['model', 'val quality', 'val cost $', 'AUC', 'AUC within task', 'kNN alone'],
  });
  for (const m of report.models)
    t.push([
      m,
      pct(report.singleModels[m]?.quality ?? NaN),
      (report.singleModels[m]?.cost ?? 0).toFixed(4),
      pct(report.auc[m]?.overall ?? NaN),
      pct(report.auc[m]?.withinTask ?? NaN),
      pct(report.auc[m]?.knnWithinTask ?? NaN),
    ]);
  t.push(['oracle', pct(report.oracle.quality), report.oracle.cost.toFixed(4), '', '', '']);
  process.stdout.write(`${t.toString()}\n`);
  if (!report.models.some((m) => (report.singleModels[m]?.cost ?? 0) > 0)) {
    process.stdout.write(
      "no cost data in this set: routing uses the config's prices (see arbiter eval for the quality-vs-calls curve)\n",
    );
    return;
  }
  const c = new Table({ ...tableStyle(), head: ['cost weight', 'routed quality', 'routed cost $'] });
  for (const p of report.curve) c.push([p.costWeight, pct(p.quality), p.cost.toFixed(4)]);
  process.stdout.write(
    `routing on validation with the custom strategy, weights { quality: 1, cost: w, latency: 0 }:\n${c.toString()}\n`,
  );
  if (report.operatingPoints.length)
    process.stdout.write(`operating points, chosen on ${report.operatingPointsFrom}:\n`);
  for (const p of report.operatingPoints)
    process.stdout.write(
      `  ${p.name} (>= ${p.goal.toFixed(3)}): cost weight ${p.costWeight}, quality ${pct(p.quality)} for $${p.cost.toFixed(4)}\n`,
    );
}
