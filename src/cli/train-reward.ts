/**
 * `arbiter train-reward --data <path> --format routerbench|routellm|jsonl --out models/<name>`:
 * trains the learned reward (per-task heads, model reliabilities, acceptance thresholds) on
 * prompts with several recorded responses and their outcomes, and — when the data has costs —
 * the per-task cascade policies. Writes reward.json and manifest.json (with checksums); prints the
 * out-of-fold ROC AUC per task and the cascade policies' train quality and cost.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import Table from 'cli-table3';

import { selectBackend } from '../compute/index.js';
import { sha256, type Manifest } from '../embed/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { loadJsonl, loadRouteLLM, loadRouterBench, type OutcomeRecord } from '../eval/index.js';
import { describeRule, REWARD_FEATURES } from '../reward/index.js';
import { rocAuc } from '../stats/index.js';
import { fitCascades, fitRewardModel } from '../learn/index.js';
import { tableStyle } from './table-style.js';

export interface TrainRewardOptions {
  data: string;
  format: string;
  out: string;
  json?: boolean;
}

export async function trainRewardCommand(o: TrainRewardOptions): Promise<void> {
  const loaders: Record<string, (path: string) => Promise<OutcomeRecord[]>> = {
    routerbench: (p) => loadRouterBench(p, 'train'),
    routellm: (p) => loadRouteLLM(p),
    jsonl: loadJsonl,
  };
  const load = loaders[o.format];
  if (!load)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `--format must be one of ${Object.keys(loaders).join(', ')}, got ${o.format}`,
      { param: 'format' },
    );
  const records = (await load(o.data)).filter((r) => r.responses && Object.keys(r.responses).length >= 2);
  if (!records.length)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `${o.data}: no prompts with recorded responses of two or more models`,
      { param: 'data' },
    );
  const { backend } = await selectBackend();
  const t0 = performance.now();
  const { model, oof } = await fitRewardModel(records, backend, { source: o.data });
  model.oofAuc = Object.fromEntries(
    Object.entries(oof).map(([t, v]) => [t, Number(rocAuc(v.scores, v.labels).toFixed(4))]),
  );
  const hasCosts = records.every((r) => model.models.every((m) => (r.costs[m] ?? 0) > 0));
  if (hasCosts) model.cascade = await fitCascades(records, model, backend);
  const seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  await mkdir(o.out, { recursive: true });
  const body = Buffer.from(`${JSON.stringify(model)}\n`);
  await writeFile(join(o.out, 'reward.json'), body);
  const manifest: Manifest = {
    format: 1,
    name: o.out.split('/').filter(Boolean).pop() ?? 'reward',
    kind: 'reward',
    dim: REWARD_FEATURES.length,
    files: [{ path: 'reward.json', kind: 'reward-head', dtype: 'json', bytes: body.length, sha256: sha256(body) }],
    produced: {
      command: `arbiter train-reward --data ${o.data} --format ${o.format} --out ${o.out}`,
      date: new Date().toISOString(),
      seconds,
      prompts: records.length,
      models: model.models,
    },
    evaluation: { oofAuc: model.oofAuc },
  };
  await writeFile(join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ prompts: records.length, models: model.models, oofAuc: model.oofAuc, accept: model.accept, cascade: model.cascade?.policies.map((p) => ({ trainQuality: p.trainQuality, trainCostShare: p.trainCostShare })) ?? null })}\n`,
    );
    return;
  }
  const t = new Table({ ...tableStyle(), head: ['task', 'out-of-fold AUC', 'accept threshold'] });
  for (const task of Object.keys(model.heads))
    t.push([task, model.oofAuc[task]?.toFixed(3) ?? '–', model.accept[task]?.toFixed(3) ?? '–']);
  process.stdout.write(
    `trained the reward head on ${records.length} prompts × ${model.models.length} models in ${seconds} s; wrote ${o.out}\n${t.toString()}\n`,
  );
  if (!model.cascade) {
    process.stdout.write('no costs in this data: no cascade policies\n');
    return;
  }
  const c = new Table({ ...tableStyle(), head: ['train quality', `cost (of ${model.cascade.strongest})`, 'per task'] });
  for (const p of model.cascade.policies.filter((p) => p.trainQuality >= model.cascade!.strongestTrainQuality - 0.05))
    c.push([
      p.trainQuality.toFixed(3),
      `${(100 * p.trainCostShare).toFixed(0)}%`,
      Object.entries(p.tasks)
        .map(([task, r]) => `${task}: ${describeRule(r, model.cascade!.strongest)}`)
        .join('\n'),
    ]);
  process.stdout.write(
    `cascade policies within 5 points of ${model.cascade.strongest} (${model.cascade.strongestTrainQuality.toFixed(3)} on train):\n${c.toString()}\n`,
  );
}
