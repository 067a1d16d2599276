import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import Table from 'cli-table3';

import { selectBackend } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import {
  costMatrix,
  type DecodingResult,
  evaluateDecoding,
  KNOWN_PRICES,
  loadRouteLLM,
  loadRouterBench,
  type OutcomeRecord,
} from '../eval/index.js';
import { shuffle } from '../stats/index.js';
import { normalizePrompt } from '../text.js';
import { tableStyle } from './table-style.js';

export interface EvalDecodingOptions {
  data: string;
  out: string;
  dataset: string;
  seed: string;
  json?: boolean;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const ci = (d: [number, number]) =>
  `${d[0] >= 0 ? '+' : ''}${d[0].toFixed(3)} to ${d[1] >= 0 ? '+' : ''}${d[1].toFixed(3)}`;

function markdown(r: DecodingResult & { dataset: string }): string {
  const lines = [
    `# arbiter eval-decoding: ${r.dataset}, recorded responses`,
    '',
    `Trained (reliabilities, reward heads, per-task cascade stages, thresholds and policies) on the train split (${r.split.train} prompts); evaluated once on the test split (${r.split.test} prompts; ${r.split.droppedOverlap} also in train left out). No live model: every candidate is a recorded response with its recorded 0/1 outcome and cost.`,
    '',
    `Best single model ${r.best.model}: ${r.best.quality.toFixed(3)} for $${r.best.cost.toFixed(2)}; random pick ${r.random.quality.toFixed(3)}; right whenever any model is right ${r.oracle.quality.toFixed(3)}.`,
    '',
    `Reward head ROC AUC for correctness on test: ${r.reward.aucAll.toFixed(3)} overall; within task ${Object.entries(
      r.reward.aucWithinTask,
    )
      .map(([t, a]) => `${t} ${a.toFixed(3)}`)
      .join(', ')}.`,
    '',
    '## Operating points (cascade and threshold chosen on the train split)',
    '',
    '| goal | setting | quality (95% CI) | − best single (paired 95% CI) | cost | of best single |',
    '|---|---|---|---|---:|---:|',
    ...r.operatingPoints.map(
      (p) =>
        `| ${p.goal} | ${p.setting} | ${p.quality.toFixed(3)} (${p.qualityCi[0].toFixed(3)}–${p.qualityCi[1].toFixed(3)}) | ${ci(p.diffCi)} | $${p.cost.toFixed(2)} | ${pct(p.costShareOfBest)} |`,
    ),
    '',
    '## Every strategy on the test split',
    '',
    '| strategy | setting | quality | − best single (paired 95% CI) | cost | of best single | calls per prompt |',
    '|---|---|---:|---|---:|---:|---:|',
    ...r.points.map(
      (p) =>
        `| ${p.strategy} | ${p.setting} | ${p.quality.toFixed(3)} | ${p.diffCi ? ci(p.diffCi) : '–'} | $${p.cost.toFixed(2)} | ${pct(p.cost / r.best.cost)} | ${p.calls.toFixed(2)} |`,
    ),
    '',
    "The per-task cascade rows are every policy on the train split's cost–quality Pareto front, applied to test (the curve); the operating points above are the ones chosen on train. The agreement-cascade rows are every pair on the test split (reference, not a chosen setting).",
  ];
  return `${lines.join('\n')}\n`;
}

/** `arbiter eval-decoding --data <routerbench folder> --out <dir>`: decoding strategies replayed on recorded responses. */
export async function evalDecodingCommand(o: EvalDecodingOptions): Promise<void> {
  let train: OutcomeRecord[];
  let test: OutcomeRecord[];
  if (o.dataset === 'routerbench')
    [train, test] = await Promise.all([loadRouterBench(o.data, 'train'), loadRouterBench(o.data, 'test')]);
  else if (o.dataset === 'routellm-gsm8k') {
    // two recorded responses per prompt, no costs (priced from list prices), no split: a seeded 70/30 one
    const seed = Number(o.seed);
    if (!Number.isInteger(seed))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--seed must be an integer, got ${o.seed}`, {
        param: 'seed',
      });
    const records = (await loadRouteLLM(o.data)).filter((r) => r.responses && Object.keys(r.responses).length >= 2);
    if (!records.length)
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${o.data}: no GSM8K records with responses`, {
        param: 'data',
      });
    const models = [...new Set(records.flatMap((r) => Object.keys(r.outcomes)))];
    const { cost } = costMatrix(records, models, KNOWN_PRICES);
    records.forEach((r, i) => (r.costs = Object.fromEntries(models.map((m, j) => [m, cost[i]![j]!]))));
    const shuffled = shuffle(records, seed);
    const cut = Math.round(shuffled.length * 0.7);
    [train, test] = [shuffled.slice(0, cut), shuffled.slice(cut)];
  } else
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `--dataset must be routerbench or routellm-gsm8k, got ${o.dataset}`,
      { param: 'dataset' },
    );
  const { backend } = await selectBackend();
  const r = {
    dataset:
      o.dataset === 'routerbench'
        ? 'RouterBench'
        : `RouteLLM GSM8K (seeded 70/30 split, seed ${o.seed}; costs from list prices)`,
    ...(await evaluateDecoding(train, test, backend, { normalize: normalizePrompt })),
  };
  await mkdir(o.out, { recursive: true });
  await writeFile(join(o.out, 'result.json'), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(join(o.out, 'report.md'), markdown(r));
  if (o.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const t = new Table({
    ...tableStyle(),
    head: ['operating point (chosen on train)', 'setting', 'quality', 'cost', 'of best'],
  });
  for (const p of r.operatingPoints)
    t.push([p.goal, p.setting, p.quality.toFixed(3), `$${p.cost.toFixed(2)}`, pct(p.costShareOfBest)]);
  process.stdout.write(
    `best single ${r.best.model} ${r.best.quality.toFixed(3)} for $${r.best.cost.toFixed(2)}; reward AUC ${r.reward.aucAll.toFixed(3)}\n${t.toString()}\n`,
  );
  const s = new Table({ ...tableStyle(), head: ['strategy', 'setting', 'quality', "of best's cost"] });
  for (const p of r.points.filter((x) => !x.strategy.startsWith('cascade')))
    s.push([p.strategy, p.setting, p.quality.toFixed(3), pct(p.cost / r.best.cost)]);
  process.stdout.write(`${s.toString()}\nwrote ${join(o.out, 'report.md')} and result.json\n`);
}
