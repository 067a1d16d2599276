/**
 * Reward-guided decoding costs:
 *   1. reward scoring throughput (candidates/s) of the learned head once features are computed —
 *      the trained RouterBench head (models/reward-routerbench) on 1,000,000 feature rows, on
 *      every backend; then the whole path from text (answer extraction + features + scoring,
 *      HeadReward.scoreBatch) and the verifier;
 *   2. orchestration overhead of best-of-N: bestOfN (N = 8, one model, the verifier) against the
 *      same 8 calls made directly (Promise.all of provider.complete), to an upstream on loopback
 *      that answers at once; medians over interleaved passes.
 *   npm run bench -- reward
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { validateConfig, type ChatRequest } from '../src/index.js';
import {
  interleavedMedians,
  loadedBackends,
  maxDiffNotes,
  printTable,
  randomNormal,
  writeResults,
  type ResultRow,
} from './lib/common.js';
import { bestOfN } from '../src/decoding/index.js';
import { createUpstreams } from '../src/providers/index.js';
import { estimateCallCost, gatedGenerate } from '../src/engine/index.js';
import { headFor, HeadReward, REWARD_FEATURES, scoreRewards, VerifierReward } from '../src/reward/index.js';
import { ModelRegistry } from '../src/config/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const rows: ResultRow[] = [];
const F = REWARD_FEATURES.length;

// ---- 1. scoring throughput ----
const N = 1_000_000;
const backends = loadedBackends();
const head = await HeadReward.load(join(ROOT, 'models', 'reward-routerbench'), backends[0]!);
const layer = headFor(head.file, 'knowledge');
const x = randomNormal(N * F, 5);
const contenders = backends.map((b) => ({ name: b.name, fn: () => scoreRewards(layer, b, x) }));
const notes = await maxDiffNotes(contenders);
const medians = await interleavedMedians(contenders);
for (const c of contenders) {
  const ms = medians.get(c.name)!;
  rows.push({
    name: `head, features given: ${c.name}`,
    kind: 'backend',
    Q: N,
    medianMs: ms,
    qps: (N * 1000) / ms,
    gflops: (2 * N * F) / ms / 1e6,
    ...(notes.get(c.name) ? { note: notes.get(c.name)! } : {}),
  });
}

// from text: 2,000 prompts × 11 candidates with multiple-choice answers in varied forms
const models = head.file.models;
const forms = [
  'B',
  '(C)',
  'The answer is (A).',
  'A) first option',
  'I think the answer is D because of the reasons given above.',
  "I'm not sure.",
];
const items = Array.from({ length: 2000 }, (_, i) => ({
  prompt: `Question ${i}: which is right?\nA) first option\nB) second option\nC) third option\nD) fourth option\nAnswer:`,
  candidates: models.map((m, j) => ({ model: m, content: forms[(i * 7 + j * 3) % forms.length]! })),
  ctx: { task: 'knowledge' },
}));
const C = items.length * models.length;
const verifier = new VerifierReward();
const text = await interleavedMedians([
  { name: 'head from text', fn: () => head.scoreBatch(items) },
  {
    name: 'verifier from text',
    fn: () => Promise.all(items.map((it) => verifier.score(it.prompt, it.candidates, it.ctx))),
  },
]);
for (const [name, ms] of text)
  rows.push({
    name: `${name} (${backends[0]!.name})`,
    kind: 'backend',
    Q: C,
    medianMs: ms,
    qps: (C * 1000) / ms,
    note: name.startsWith('head')
      ? 'answer extraction + features + scoring'
      : 'answer extraction + agreement + arithmetic checks',
  });
printTable('Reward scoring', rows, 'candidates/s');

// ---- 2. best-of-N orchestration overhead ----
const body = JSON.stringify({
  id: 'x',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'The answer is 42.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 },
});
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () =>
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body),
  );
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const cfg = validateConfig(
  {
    models: [
      {
        id: 'm',
        provider: { kind: 'openai', baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` },
        cost: { inputPer1k: 0.001, outputPer1k: 0.002 },
        maxConcurrent: 64,
      },
    ],
  },
  'bench',
);
const ups = await createUpstreams(cfg);
const registry = new ModelRegistry(cfg);
const gen = gatedGenerate(ups, registry);
const up = ups.get('m')!;
const chat: ChatRequest = {
  messages: [{ role: 'user', content: 'What is 6 * 7? Think step by step.' }],
  max_tokens: 64,
};
const n = 8;
const orch = await interleavedMedians(
  [
    {
      name: `${n} direct calls (Promise.all)`,
      fn: () =>
        Promise.all(Array.from({ length: n }, (_, i) => up.provider.complete({ ...chat, seed: i, temperature: 0.7 }))),
    },
    {
      name: `bestOfN, N = ${n}, verifier, budget accounting`,
      fn: () =>
        bestOfN(gen, chat, {
          models: ['m'],
          n,
          reward: verifier,
          ctx: { task: 'math' },
          budget: 1,
          estimateCost: estimateCallCost(registry),
        }),
    },
  ],
  { passes: 5, passMs: 1500 },
);
const orchRows: ResultRow[] = [...orch].map(([name, ms]) => ({
  name,
  kind: name.startsWith('bestOfN') ? 'backend' : 'peer',
  Q: n,
  medianMs: ms,
  qps: 1000 / ms,
}));
printTable(`Best-of-${n} against ${n} plain calls (upstream on loopback answering at once)`, orchRows, 'requests/s');
upstream.close();
const direct = orchRows[0]!.medianMs;
const decoded = orchRows[1]!.medianMs;
const summary = {
  headCandidatesPerSecond: Object.fromEntries(
    rows
      .filter((r) => r.name.startsWith('head, features given'))
      .map((r) => [r.name.split(': ')[1], Math.round(r.qps)]),
  ),
  headFromTextCandidatesPerSecond: Math.round(rows.find((r) => r.name.startsWith('head from text'))!.qps),
  bestOfNOverheadMs: Number((decoded - direct).toFixed(3)),
  bestOfNOverheadRatio: Number((decoded / direct).toFixed(3)),
};
process.stdout.write(
  `summary: ${JSON.stringify(summary)}\nwrote ${writeResults('reward', { shape: { candidates: N, features: F, fromText: C, bestOfN: n }, results: [...rows, ...orchRows], summary })}\n`,
);
process.exit(0);
