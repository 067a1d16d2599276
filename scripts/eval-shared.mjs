#!/usr/bin/env node
// npm run eval:shared — runs `arbiter eval` on the shared outcome data (EVAL_DATA, default
// ../shared/data), writes each report to docs/eval/<dataset>/ (report.md, result.json, curve.svg,
// reliability.svg) and the summary table into README.md between <!-- eval:summary --> markers.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const data = process.env.EVAL_DATA ?? '../shared/data';
const runs = [
  { dataset: 'routerbench', path: join(data, 'routerbench'), args: [] },
  { dataset: 'routellm-mmlu', path: join(data, 'routellm'), args: ['--folds', '5', '--inner-folds', '2'] },
  { dataset: 'routellm-gsm8k', path: join(data, 'routellm'), args: ['--folds', '5'] },
  { dataset: 'routellm-mtbench', path: join(data, 'routellm'), args: ['--folds', '5'] },
];
const only = process.argv.slice(2);
const f3 = (x) => (x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(3));
const pct = (x) => (x === null || x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(0)}%`);
for (const r of runs) {
  if (only.length && !only.includes(r.dataset)) continue;
  const out = join('docs', 'eval', r.dataset);
  const t0 = Date.now();
  const p = spawnSync(
    process.execPath,
    ['bin/arbiter.js', 'eval', '--dataset', r.dataset, '--data', r.path, '--out', out, ...r.args],
    { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' },
  );
  if (p.status !== 0) process.exit(p.status ?? 1);
  process.stdout.write(p.stdout);
  console.log(`eval:shared: ${r.dataset} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
const lines = [
  '| dataset | regime | best single model | operating point: 95% of best (chosen on training data) | operating point: best − 1 point | cost saving at 95%, test curve* | APGR | within-task AUC | ECE |',
  '|---|---|---|---|---|---:|---:|---:|---:|',
];
for (const r of runs) {
  let j;
  try {
    j = JSON.parse(readFileSync(join('docs', 'eval', r.dataset, 'result.json'), 'utf8'));
  } catch {
    continue;
  }
  const m = j.metrics;
  const op = (i) => {
    const p = j.operatingPoints[i];
    return p
      ? `${f3(p.quality)} (${f3(p.qualityCi[0])}–${f3(p.qualityCi[1])}) at ${pct(p.costShareOfBest)} of its cost`
      : '–';
  };
  const regime = j.split.regime.startsWith('trained on the train split')
    ? 'train → test'
    : j.split.regime.split(' (')[0];
  lines.push(
    `| [${r.dataset}](docs/eval/${r.dataset}/report.md) | ${regime}, ${j.split.test.toLocaleString('en-US')} prompts | ${m.bestSingle.model}: ${f3(m.bestSingle.quality)} | ${op(0)} | ${op(1)} | ${pct(m.costSavingAt95['arbiter (cost weight)'])} | ${m.pgr ? f3(m.pgr['arbiter (cost weight)'].apgr) : '–'} | ${f3(m.meanWithinTaskAuc)} | ${f3(m.calibration.ece)} |`,
  );
}
let readme = readFileSync('README.md', 'utf8');
const block = `<!-- eval:summary -->\n${lines.join('\n')}\n<!-- /eval:summary -->`;
readme = readme.replace(/<!-- eval:summary -->[\s\S]*?<!-- \/eval:summary -->/, block);
writeFileSync('README.md', readme);
console.log('README.md eval summary updated');
