/**
 * The out-of-distribution test of a router trained on RouterBench only (models/routerbench,
 * config/routerbench.yaml): RouterBench's test split (in distribution) against RouteLLM's
 * MT-Bench first turns (all 80, by category). Per set: the share flagged, the task confidence,
 * task accuracy (a flagged prompt counts as wrong), and how well predicted quality matches the
 * outcomes (ECE, 10 bins) — for gpt-4 and Mixtral on MT-Bench (its judge's scores), for all
 * eleven models on RouterBench — with the test on (routing.oodLevel 0.02) and off. And what the
 * test costs a batch. Targets: MT-Bench writing, roleplay, extraction and humanities flagged in
 * ≥ 90% of cases with confidence ≤ 0.5; RouterBench test task accuracy ≥ 0.97.
 *   npm run bench -- ood      (BENCH_DATA=../shared/data by default)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Table from 'cli-table3';

import { loadConfig } from '../src/config/index.js';
import { loadRouteLLM, loadRouterBench } from '../src/eval/index.js';
import { createRouter, type Decision } from '../src/router/index.js';
import { calibration } from '../src/stats/index.js';
import { median, writeResults, type ResultRow } from './lib/common.js';

const data = process.env.BENCH_DATA ?? '../shared/data';
const cfg = await loadConfig('config/routerbench.yaml');
const withLevel = (oodLevel: number) => createRouter({ ...cfg, routing: { ...cfg.routing, oodLevel } });
const on = await withLevel(0.02);
const off = await withLevel(0);

const id = await loadRouterBench(join(data, 'routerbench'), 'test');
const mt = await loadRouteLLM(join(data, 'routellm', 'mt_bench'), { includeContaminated: true });
const categories = readFileSync(join(data, 'routellm', 'mt_bench', 'question.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => (JSON.parse(l) as { category: string }).category);
const categoryOf = (source: string | undefined) => categories[Number(source?.split(':').pop()) - 1] ?? '?';
// RouteLLM's Mixtral is RouterBench's under another name
const alias: Record<string, string> = { 'mistralai/Mixtral-8x7B-Instruct-v0.1': 'mistralai/mixtral-8x7b-chat' };

interface Row {
  set: string;
  n: number;
  flagged: number;
  confidence: number;
  maxFlaggedConfidence: number | null;
  taskAccuracy: number | null;
  eceOn: number;
  eceOff: number;
}

async function measure(
  set: string,
  recs: Array<{ prompt: string; task?: string; outcomes: Record<string, number> }>,
  decisions: { on: Decision[]; off: Decision[] },
): Promise<Row> {
  const flagged = decisions.on.filter((d) => d.task.source === 'ood');
  const ece = (ds: Decision[]) => {
    const pred: number[] = [];
    const out: number[] = [];
    ds.forEach((d, i) => {
      for (const [m, y] of Object.entries(recs[i]!.outcomes)) {
        const c = d.alternatives.find((a) => a.model === (alias[m] ?? m));
        if (!c) continue;
        pred.push(c.quality);
        out.push(y);
      }
    });
    return calibration(pred, out).ece;
  };
  const labelled = recs.every((r) => r.task !== undefined) && set.startsWith('RouterBench');
  return {
    set,
    n: recs.length,
    flagged: flagged.length / recs.length,
    confidence: median(decisions.on.map((d) => d.task.confidence)),
    maxFlaggedConfidence: flagged.length ? Math.max(...flagged.map((d) => d.task.confidence)) : null,
    taskAccuracy: labelled ? decisions.on.filter((d, i) => d.task.label === recs[i]!.task).length / recs.length : null,
    eceOn: ece(decisions.on),
    eceOff: ece(decisions.off),
  };
}

type Rec = { prompt: string; task?: string; outcomes: Record<string, number>; source?: string };
/** Both routers' decisions on a set. */
const both = async (recs: Rec[]) => ({
  on: await on.routeBatch(recs.map((r) => r.prompt)),
  off: await off.routeBatch(recs.map((r) => r.prompt)),
});
/** The row of the records `keep` selects. */
const part = (set: string, recs: Rec[], decisions: { on: Decision[]; off: Decision[] }, keep: (r: Rec) => boolean) => {
  const idx = recs.map((_, i) => i).filter((i) => keep(recs[i]!));
  const pick = <T>(xs: T[]) => idx.map((i) => xs[i]!);
  return measure(set, pick(recs), { on: pick(decisions.on), off: pick(decisions.off) });
};
const rows: Row[] = [];
const idDecisions = await both(id);
for (const task of [...new Set(id.map((r) => r.task!))].sort())
  rows.push(await part(`RouterBench test: ${task}`, id, idDecisions, (r) => r.task === task));
rows.push(await measure('RouterBench test: all', id, idDecisions));
const mtDecisions = await both(mt);
const targets = ['writing', 'roleplay', 'extraction', 'humanities'];
for (const c of [...new Set(categories)])
  rows.push(
    await part(`MT-Bench: ${c}${targets.includes(c) ? ' *' : ''}`, mt, mtDecisions, (r) => categoryOf(r.source) === c),
  );
const target = await part('MT-Bench: the four targets *', mt, mtDecisions, (r) =>
  targets.includes(categoryOf(r.source)),
);
rows.push(target, await measure('MT-Bench: all', mt, mtDecisions));

// what routing gets on the in-distribution prompts, the test on and off: the chosen models' outcomes and cost
const routed = (ds: Decision[]) => ({
  quality: ds.reduce((s, d, i) => s + (id[i]!.outcomes[d.model] ?? 0), 0) / ds.length,
  cost: ds.reduce((s, d, i) => s + (id[i]!.costs[d.model] ?? 0), 0),
});
const routedOn = routed(idDecisions.on);
const routedOff = routed(idDecisions.off);

// what the test costs: the in-distribution batch routed with it and without, alternating
const prompts = id.map((r) => r.prompt);
const times = { on: [] as number[], off: [] as number[] };
for (let rep = 0; rep < 7; rep++)
  for (const [k, r] of [
    ['on', on],
    ['off', off],
  ] as const) {
    const t0 = performance.now();
    await r.routeBatch(prompts);
    times[k].push(((performance.now() - t0) * 1000) / prompts.length);
  }
const usOn = median(times.on);
const usOff = median(times.off);

const f = (x: number | null, d = 3) => (x === null ? '–' : x.toFixed(d));
const t = new Table({
  head: ['set', 'n', 'flagged', 'median task conf.', 'max conf. flagged', 'task acc.', 'quality ECE on', 'ECE off'],
});
for (const r of rows)
  t.push([
    r.set,
    r.n,
    `${(100 * r.flagged).toFixed(1)}%`,
    f(r.confidence),
    f(r.maxFlaggedConfidence),
    f(r.taskAccuracy),
    f(r.eceOn),
    f(r.eceOff),
  ]);
process.stdout.write(`\nout-of-distribution test, router trained on RouterBench only (level 0.02)\n${t.toString()}\n`);
const all = rows.find((r) => r.set === 'RouterBench test: all')!;
process.stdout.write(
  `targets: MT-Bench targets flagged ${(100 * target.flagged).toFixed(1)}% (≥ 90%), max task confidence of a flagged one ${f(target.maxFlaggedConfidence)} (≤ 0.5); RouterBench test task accuracy ${f(all.taskAccuracy)} (≥ 0.97)\n` +
    `RouterBench test routed (config's strategy): quality ${routedOn.quality.toFixed(4)} for $${routedOn.cost.toFixed(3)} with the test, ${routedOff.quality.toFixed(4)} for $${routedOff.cost.toFixed(3)} without\n` +
    `cost: ${usOn.toFixed(1)} µs a prompt with the test, ${usOff.toFixed(1)} without (median of 7 batches of ${prompts.length}; ratio ${(usOn / usOff).toFixed(2)})\n`,
);
const results: ResultRow[] = [
  { name: 'routeBatch with the test', kind: 'backend', Q: prompts.length, medianMs: usOn / 1000, qps: 1e6 / usOn },
  { name: 'routeBatch without', kind: 'backend', Q: prompts.length, medianMs: usOff / 1000, qps: 1e6 / usOff },
];
const file = writeResults('ood', {
  shape: { level: 0.02, model: 'models/routerbench' },
  results,
  sets: rows,
  routed: { on: routedOn, off: routedOff },
});
process.stdout.write(`wrote ${file}\n`);
on.close();
off.close();
