/**
 * The learned cascade as a pipeline — "cheap generate → reward validate → escalate" — beside the
 * cascade decoding strategy, on RouterBench's recorded responses: the eleven models as replay
 * providers (../shared/data/routerbench), the shipped router and reward of
 * config/routerbench.yaml. For every test-split prompt the router's task picks the learned rule;
 * the pipeline built from it (src/eval/cascade-pipeline.ts) runs through the engine's pipeline
 * runner, the strategy through `decode`. Each answer is matched to the model that recorded it,
 * scored by that model's recorded outcome and costed by the recorded costs of every model called;
 * the two are compared prompt by prompt.
 *   npm run bench -- cascade-pipeline      (BENCH_DATA=../shared/data by default)
 */
import { join } from 'node:path';

import { selectBackend } from '../src/compute/index.js';
import { Arbiter, loadRewards, OutcomeRecorder, runPipeline } from '../src/engine/index.js';
import { cascadePipeline, loadRouterBench } from '../src/eval/index.js';
import { createRouter, loadConfig, validateConfig } from '../src/index.js';
import { createUpstreams } from '../src/providers/index.js';
import { chooseCascadePolicy, EscalationReward, type HeadReward } from '../src/reward/index.js';
import { normalizePrompt } from '../src/text.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

const ROOT = join(import.meta.dirname, '..', '..');
const data = join(process.env.BENCH_DATA ?? join(ROOT, '..', 'shared', 'data'), 'routerbench');
const base = await loadConfig(join(ROOT, 'config', 'routerbench.yaml'));
const models = base.models.map((m) => ({ ...m, provider: { kind: 'replay', data } }));
const probe = validateConfig({ models, rewards: { head: join(ROOT, 'models', 'reward-routerbench') } }, 'probe');
const { backend } = await selectBackend();
const upstreams0 = await createUpstreams(probe);
const head0 = (await loadRewards(probe, backend, upstreams0, new Map() as never)).outcome.get('head') as HeadReward;
const learned = head0.file.cascade!;
const strongest = learned.strongest;
const policy = chooseCascadePolicy(learned);
// one pipeline per task's rule, each validated like a config's
const cfg = validateConfig(
  {
    models,
    routing: { ...base.routing, model: join(ROOT, 'models', 'routerbench') },
    rewards: { head: join(ROOT, 'models', 'reward-routerbench') },
    pipelines: Object.entries(policy.tasks).map(([task, rule]) =>
      cascadePipeline(`cascade-${task === '*' ? 'any' : task}`, rule, strongest, `escalation:${task}`),
    ),
  },
  join(ROOT, 'config', 'routerbench-replay.yaml'),
);
const router = await createRouter(cfg, { backend });
const upstreams = await createUpstreams(cfg);
const rewards = await loadRewards(cfg, backend, upstreams, router.registry);
const head = rewards.outcome.get('head') as HeadReward;
const escalation = new Map(
  Object.entries(policy.tasks).map(([task, rule]) => [
    `escalation:${task}`,
    new EscalationReward(rule, head.file.reliability, backend),
  ]),
);
const engine = new Arbiter({ router, upstreams, rewards, config: cfg });

const train = new Set((await loadRouterBench(data, 'train')).map((r) => normalizePrompt(r.prompt)));
const test = (await loadRouterBench(data, 'test')).filter((r) => !train.has(normalizePrompt(r.prompt)));
const tally = { pipeline: { right: 0, cost: 0, calls: 0 }, strategy: { right: 0, cost: 0, calls: 0 } };
let same = 0;
let strongCost = 0;
let strongRight = 0;
const differ: Array<{ prompt: string; pipeline: string; strategy: string }> = [];
for (const r of test) {
  const chat = { messages: [{ role: 'user' as const, content: r.prompt }] };
  const d = await engine.route(r.prompt);
  const task = policy.tasks[d.task.label] ? d.task.label : policy.tasks['*'] ? '*' : Object.keys(policy.tasks)[0]!;
  const pl = cfg.pipelines.find((p) => p.id === `cascade-${task === '*' ? 'any' : task}`)!;
  const pred = new Map(d.alternatives.map((a) => [a.model, a]));
  const run = await runPipeline(
    {
      router,
      upstreams,
      cache: new Map(),
      rewards: escalation,
      scoreContext: { task: d.task.label, reliability: (m) => pred.get(m)?.quality },
    },
    pl,
    chat,
    new OutcomeRecorder('pipeline', () => {}),
  );
  const called = run.phases.filter((p) => p.status !== 'skipped' && p.model && !p.verdict && p.name !== 'answer');
  const escalated = run.phases.find((p) => p.name === 'escalate' && p.status === 'ok');
  const pModel = escalated ? strongest : (run.phases.find((p) => p.name === 'check')?.model ?? run.model ?? '');
  const s = await engine.decode(chat, { strategy: 'cascade' });
  tally.pipeline.right += r.outcomes[pModel] ?? 0;
  tally.strategy.right += r.outcomes[s.model] ?? 0;
  for (const p of called) tally.pipeline.cost += r.costs[p.model!] ?? 0;
  for (const c of s.candidates) tally.strategy.cost += r.costs[c.model] ?? 0;
  tally.pipeline.calls += called.length;
  tally.strategy.calls += s.candidates.length;
  strongCost += r.costs[strongest] ?? 0;
  strongRight += r.outcomes[strongest] ?? 0;
  if (pModel === s.model) same++;
  else if (differ.length < 10) differ.push({ prompt: r.prompt.slice(0, 60), pipeline: pModel, strategy: s.model });
}
await engine.close();
const n = test.length;
const row = (name: string, t: { right: number; cost: number; calls: number }): ResultRow => ({
  name,
  kind: 'backend',
  Q: n,
  medianMs: 0,
  qps: 0,
  note: `quality ${(t.right / n).toFixed(3)}, cost $${t.cost.toFixed(2)} = ${((100 * t.cost) / strongCost).toFixed(1)}% of ${strongest}; ${(t.calls / n).toFixed(2)} calls per prompt`,
});
const rows: ResultRow[] = [
  {
    name: `${strongest} alone (recorded)`,
    kind: 'peer',
    Q: n,
    medianMs: 0,
    qps: 0,
    note: `quality ${(strongRight / n).toFixed(3)}, cost $${strongCost.toFixed(2)}`,
  },
  row('cascade strategy (decode)', tally.strategy),
  row('cascade as a pipeline', tally.pipeline),
];
printTable(
  `The learned cascade as a pipeline, on recorded responses (RouterBench test split, ${n} prompts)`,
  rows,
  '-',
);
const summary = {
  prompts: n,
  pipeline: {
    quality: tally.pipeline.right / n,
    costShare: tally.pipeline.cost / strongCost,
    callsPerPrompt: tally.pipeline.calls / n,
  },
  strategy: {
    quality: tally.strategy.right / n,
    costShare: tally.strategy.cost / strongCost,
    callsPerPrompt: tally.strategy.calls / n,
  },
  sameAnsweringModel: same / n,
  differ,
};
process.stdout.write(
  `summary: ${JSON.stringify(summary)}\nwrote ${writeResults('cascade-pipeline', { shape: { prompts: n }, results: rows, summary })}\n`,
);
process.exit(0);
