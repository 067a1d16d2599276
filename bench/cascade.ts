/**
 * The learned cascade live, end to end: the gateway serves RouterBench's eleven models as replay
 * providers (their recorded responses, ../shared/data/routerbench), with the shipped router
 * (models/routerbench) and reward (models/reward-routerbench) of config/routerbench.yaml; every
 * test-split prompt goes through POST /v1/chat/completions with arbiter {strategy: "cascade"} over
 * real HTTP. The answer is matched to the model that recorded it, scored by that model's recorded
 * outcome, and costed by the recorded costs of every model called — so the figure can be set next
 * to `arbiter eval-decoding`'s offline replay of the same policy (which uses the dataset's task
 * labels; live, the router's analysis decides the task).
 *   npm run bench -- cascade      (BENCH_DATA=../shared/data by default)
 */
import { join } from 'node:path';

import { createRouter, loadConfig, validateConfig } from '../src/index.js';
import { Arbiter } from '../src/engine/index.js';
import { buildGateway } from '../src/server/index.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';
import { createUpstreams } from '../src/providers/index.js';
import { loadRewards } from '../src/engine/index.js';
import { loadRouterBench } from '../src/eval/index.js';
import { normalizePrompt } from '../src/text.js';
import { selectBackend } from '../src/compute/index.js';
import { chooseCascadePolicy, type HeadReward } from '../src/reward/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const data = join(process.env.BENCH_DATA ?? join(ROOT, '..', 'shared', 'data'), 'routerbench');
const base = await loadConfig(join(ROOT, 'config', 'routerbench.yaml'));
const cfg = validateConfig(
  {
    models: base.models.map((m) => ({ ...m, provider: { kind: 'replay', data } })),
    routing: { ...base.routing, model: join(ROOT, 'models', 'routerbench') },
    rewards: { head: join(ROOT, 'models', 'reward-routerbench') },
  },
  join(ROOT, 'config', 'routerbench-replay.yaml'),
);
const { backend } = await selectBackend();
const router = await createRouter(cfg, { backend });
const upstreams = await createUpstreams(cfg);
const rewards = await loadRewards(cfg, backend, upstreams, router.registry);
const gw = await buildGateway({ arbiter: new Arbiter({ router, upstreams, rewards }), backend: backend.name });
const url = await gw.listen({ host: '127.0.0.1', port: 0 });

const train = new Set((await loadRouterBench(data, 'train')).map((r) => normalizePrompt(r.prompt)));
const test = (await loadRouterBench(data, 'test')).filter((r) => !train.has(normalizePrompt(r.prompt)));
const head = rewards.outcome.get('head') as HeadReward;
const strongest = head.file.cascade!.strongest;
const policy = chooseCascadePolicy(head.file.cascade!);

let right = 0;
let cost = 0;
let strongCost = 0;
let strongRight = 0;
let calls = 0;
let taskAgree = 0;
let unmatched = 0;
const latencies: number[] = [];
for (const r of test) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'auto',
      messages: [{ role: 'user', content: r.prompt }],
      arbiter: { strategy: 'cascade', include_candidates: true },
    }),
  });
  latencies.push(performance.now() - t0);
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  const j = (await res.json()) as { model: string; arbiter: { task: string; candidates: Array<{ model: string }> } };
  if (j.arbiter.task === r.task) taskAgree++;
  if (!(j.model in r.outcomes)) unmatched++;
  right += r.outcomes[j.model] ?? 0;
  for (const c of j.arbiter.candidates) cost += r.costs[c.model] ?? 0;
  calls += j.arbiter.candidates.length;
  strongCost += r.costs[strongest] ?? 0;
  strongRight += r.outcomes[strongest] ?? 0;
}
await gw.close();
latencies.sort((a, b) => a - b);
const q = right / test.length;
const rows: ResultRow[] = [
  {
    name: `${strongest} alone (recorded)`,
    kind: 'peer',
    Q: test.length,
    medianMs: 0,
    qps: 0,
    note: `quality ${(strongRight / test.length).toFixed(3)}, cost $${strongCost.toFixed(2)}`,
  },
  {
    name: 'live cascade through the gateway',
    kind: 'backend',
    Q: test.length,
    medianMs: latencies[latencies.length >> 1]!,
    qps: 1000 / (latencies.reduce((a, b) => a + b, 0) / latencies.length),
    note: `quality ${q.toFixed(3)}, cost $${cost.toFixed(2)} = ${((100 * cost) / strongCost).toFixed(0)}% of ${strongest}; ${(calls / test.length).toFixed(2)} calls per prompt; router task = dataset task on ${((100 * taskAgree) / test.length).toFixed(1)}%`,
  },
];
printTable(
  `Learned cascade, live over HTTP on replay models (RouterBench test split, ${test.length} prompts)`,
  rows,
  'requests/s',
);
const summary = {
  prompts: test.length,
  quality: Number(q.toFixed(4)),
  strongestQuality: Number((strongRight / test.length).toFixed(4)),
  costShareOfStrongest: Number((cost / strongCost).toFixed(4)),
  callsPerPrompt: Number((calls / test.length).toFixed(3)),
  taskAgreement: Number((taskAgree / test.length).toFixed(4)),
  unmatchedAnswers: unmatched,
  policyTrain: { quality: policy.trainQuality, costShare: policy.trainCostShare },
  p50Ms: Number(latencies[latencies.length >> 1]!.toFixed(3)),
  p99Ms: Number(latencies[Math.floor(latencies.length * 0.99)]!.toFixed(3)),
};
process.stdout.write(
  `summary: ${JSON.stringify(summary)}\nwrote ${writeResults('cascade', { shape: { prompts: test.length, strategy: 'cascade' }, results: rows, summary })}\n`,
);
process.exit(0);
