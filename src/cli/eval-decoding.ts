import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import Table from 'cli-table3';

import { selectBackend } from '../compute/index.js';
import { evaluateDecoding, loadRouterBench, normalizePrompt, type DecodingResult } from '../eval/index.js';

export interface EvalDecodingOptions {
  data: string;
  out: string;
  json?: boolean;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const ci = (d: [number, number]) => `${d[0] >= 0 ? '+' : ''}${d[0].toFixed(3)} to ${d[1] >= 0 ? '+' : ''}${d[1].toFixed(3)}`;

function markdown(r: DecodingResult): string {
  const lines = [
    '# arbiter eval-decoding: RouterBench, recorded responses',
    '',
    `Trained (reliabilities, reward heads, per-task cascade stages, thresholds and policies) on the train split (${r.split.train} prompts); evaluated once on the test split (${r.split.test} prompts; ${r.split.droppedOverlap} also in train left out). No live model: every candidate is a recorded response with its recorded 0/1 outcome and cost.`,
    '',
    `Best single model ${r.best.model}: ${r.best.quality.toFixed(3)} for $${r.best.cost.toFixed(2)}; random pick ${r.random.quality.toFixed(3)}; right whenever any model is right ${r.oracle.quality.toFixed(3)}.`,
    '',
    `Reward head ROC AUC for correctness on test: ${r.reward.aucAll.toFixed(3)} overall; within task ${Object.entries(r.reward.aucWithinTask).map(([t, a]) => `${t} ${a.toFixed(3)}`).join(', ')}.`,
    '',
    '## Operating points (cascade and threshold chosen on the train split)',
    '',
    '| goal | setting | quality (95% CI) | − best single (paired 95% CI) | cost | of best single |',
    '|---|---|---|---|---:|---:|',
    ...r.operatingPoints.map((p) => `| ${p.goal} | ${p.setting} | ${p.quality.toFixed(3)} (${p.qualityCi[0].toFixed(3)}–${p.qualityCi[1].toFixed(3)}) | ${ci(p.diffCi)} | $${p.cost.toFixed(2)} | ${pct(p.costShareOfBest)} |`),
    '',
    '## Every strategy on the test split',
    '',
    '| strategy | setting | quality | − best single (paired 95% CI) | cost | of best single | calls per prompt |',
    '|---|---|---:|---|---:|---:|---:|',
    ...r.points.map((p) => `| ${p.strategy} | ${p.setting} | ${p.quality.toFixed(3)} | ${p.diffCi ? ci(p.diffCi) : '–'} | $${p.cost.toFixed(2)} | ${pct(p.cost / r.best.cost)} | ${p.calls.toFixed(2)} |`),
    '',
    'The per-task cascade rows are every policy of the train split\'s Lagrangian sweep, applied to test (the curve); the operating points above are the ones chosen on train. The agreement-cascade rows are every pair on the test split (reference, not a chosen setting).',
  ];
  return `${lines.join('\n')}\n`;
}

/** `arbiter eval-decoding --data <routerbench folder> --out <dir>`: decoding strategies replayed on recorded responses. */
export async function evalDecodingCommand(o: EvalDecodingOptions): Promise<void> {
  const [train, test] = await Promise.all([loadRouterBench(o.data, 'train'), loadRouterBench(o.data, 'test')]);
  const { backend } = await selectBackend();
  const r = await evaluateDecoding(train, test, backend, { normalize: normalizePrompt });
  await mkdir(o.out, { recursive: true });
  await writeFile(join(o.out, 'result.json'), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(join(o.out, 'report.md'), markdown(r));
  if (o.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const t = new Table({ head: ['operating point (chosen on train)', 'setting', 'quality', 'cost', 'of best'] });
  for (const p of r.operatingPoints) t.push([p.goal, p.setting, p.quality.toFixed(3), `$${p.cost.toFixed(2)}`, pct(p.costShareOfBest)]);
  process.stdout.write(`best single ${r.best.model} ${r.best.quality.toFixed(3)} for $${r.best.cost.toFixed(2)}; reward AUC ${r.reward.aucAll.toFixed(3)}\n${t.toString()}\n`);
  const s = new Table({ head: ['strategy', 'setting', 'quality', 'of best\'s cost'] });
  for (const p of r.points.filter((x) => !x.strategy.startsWith('cascade'))) s.push([p.strategy, p.setting, p.quality.toFixed(3), pct(p.cost / r.best.cost)]);
  process.stdout.write(`${s.toString()}\nwrote ${join(o.out, 'report.md')} and result.json\n`);
}
