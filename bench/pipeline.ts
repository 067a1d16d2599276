/**
 * What a pipeline's orchestration costs over calling the same models directly: a four-phase chain
 * (each phase's prompt holding the previous output) and a Mixture-of-Agents shape (three in
 * parallel, one after), run through the engine as `pipeline:<id>`, against the same calls made one
 * by one through the engine's `complete` — against an upstream in a worker thread that answers at
 * once. Alternating passes of 100 runs each; medians of per-run times. Target: ≤ 2 ms per phase.
 *   npm run bench -- pipeline
 */
import { selectBackend } from '../src/compute/index.js';
import { createArbiter } from '../src/index.js';
import { inWorker } from './lib/workers.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

const port = await inWorker<number>(new URL('./lib/load-worker.js', import.meta.url), { mode: 'upstream' });
const { backend } = await selectBackend();
const engine = await createArbiter(
  {
    models: [
      {
        id: 'm',
        provider: { kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` },
        cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
        maxConcurrent: 64,
      },
    ],
    store: { url: 'none' },
    pipelines: [
      {
        id: 'chain',
        phases: ['a', 'b', 'c', 'd'].map((name, i, all) => ({
          name,
          model: 'm',
          instructions: i ? `${name}: {{phases.${all[i - 1]}.output}}` : `${name}: {{input}}`,
          ...(i ? { after: [all[i - 1]!] } : {}),
        })),
      },
      {
        id: 'mix',
        phases: [
          { name: 'p1', model: 'm', instructions: 'p1 {{input}}' },
          { name: 'p2', model: 'm', instructions: 'p2 {{input}}' },
          { name: 'p3', model: 'm', instructions: 'p3 {{input}}' },
          {
            name: 'agg',
            model: 'm',
            after: ['p1', 'p2', 'p3'],
            instructions: '{{phases.p1.output}} {{phases.p2.output}} {{phases.p3.output}}',
          },
        ],
      },
    ],
  },
  { backend },
);
const input = 'Summarise the plot of Hamlet in two sentences.';
const call = async (content: string) => {
  const r = await engine.complete({ model: 'm', stream: false, messages: [{ role: 'user', content }] });
  return r.response.choices[0]?.message.content ?? '';
};
const modes = {
  'chain: pipeline': () => engine.runPipeline('chain', { messages: [{ role: 'user', content: input }] }),
  'chain: direct': async () => {
    let out = await call(`a: ${input}`);
    for (const n of ['b', 'c', 'd']) out = await call(`${n}: ${out}`);
  },
  'mix: pipeline': () => engine.runPipeline('mix', { messages: [{ role: 'user', content: input }] }),
  'mix: direct': async () => {
    const outs = await Promise.all(['p1', 'p2', 'p3'].map((p) => call(`${p} ${input}`)));
    await call(outs.join(' '));
  },
};
type Mode = keyof typeof modes;
const times: Record<Mode, number[]> = {
  'chain: pipeline': [],
  'chain: direct': [],
  'mix: pipeline': [],
  'mix: direct': [],
};
const PASSES = 10;
const RUNS = 100;
for (let pass = -1; pass < PASSES; pass++)
  for (const mode of Object.keys(modes) as Mode[])
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await modes[mode]();
      if (pass >= 0) times[mode].push(performance.now() - t0); // pass −1 warms up
    }
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const perPhase = {
  chain: (med(times['chain: pipeline']) - med(times['chain: direct'])) / 4,
  mix: (med(times['mix: pipeline']) - med(times['mix: direct'])) / 4,
};
const rows: ResultRow[] = (Object.keys(times) as Mode[]).map((m) => ({
  name: m,
  kind: 'backend',
  Q: times[m].length,
  medianMs: med(times[m]),
  qps: 1000 / med(times[m]),
  note: m.endsWith('pipeline')
    ? `overhead ${perPhase[m.startsWith('chain') ? 'chain' : 'mix'].toFixed(3)} ms per phase over direct (target ≤ 2)`
    : '4 calls through complete',
}));
printTable('pipeline orchestration over direct calls (4 phases; upstream answers at once)', rows, 'runs/s');
const summary = { overheadPerPhaseMs: perPhase, passes: PASSES, runsPerPass: RUNS };
process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
process.stdout.write(
  `wrote ${writeResults('pipeline', { shape: { phases: 4, passes: PASSES, runs: RUNS }, results: rows, summary })}\n`,
);
await engine.close();
process.exit(0);
