/**
 * Decisions to JSON: JSON.stringify against the schema-compiled serializer (decisionJson,
 * fast-json-stringify) on the same 2,000 decisions — the plain router's and the RouterBench
 * router's (trained heads add the difficulty and longer distributions) — in alternating passes;
 * medians per decision and the ratio. Both outputs read back equal (checked here as in the tests).
 *   npm run bench -- serialize
 */
import { isDeepStrictEqual } from 'node:util';

import { selectBackend } from '../src/compute/index.js';
import { createArbiter } from '../src/index.js';
import { decisionJson, type Decision } from '../src/router/index.js';
import { interleavedMedians, printTable, writeResults, type ResultRow } from './lib/common.js';

const { backend } = await selectBackend();
const WORDS =
  'write a python function to sort a list explain the theory of relativity what is 17 times 23 translate hello into french summarise this article prove that the square root of two is irrational'.split(
    ' ',
  );
const prompts = Array.from({ length: 2000 }, (_, i) =>
  Array.from({ length: 5 + (i % 60) }, (_, j) => WORDS[(i * 7 + j * 13) % WORDS.length]).join(' '),
);
const models = ['gpt-4-1106-preview', 'mistralai/mixtral-8x7b-chat', 'meta/llama-2-70b-chat'].map((id, i) => ({
  id,
  provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
  cost: { inputPer1k: 0.01 / (i + 1), outputPer1k: 0.03 / (i + 1) },
  strengths: { code: 0.9 - i * 0.1, math: 0.8 - i * 0.1 },
}));
const routerbench = new URL('../../models/routerbench', import.meta.url).pathname;

const rows: ResultRow[] = [];
const summary: Record<string, { stringifyUs: number; compiledUs: number; ratio: number; bytes: number }> = {};
for (const [name, routing] of [
  ['plain router', { strategy: 'balanced' }],
  ['RouterBench router', { model: routerbench, strategy: 'balanced' }],
] as const) {
  const engine = await createArbiter({ models, routing }, { backend });
  const ds: Decision[] = await engine.routeBatch(prompts);
  await engine.close();
  if (
    !ds.every((d, i) => isDeepStrictEqual(JSON.parse(decisionJson(d, i)), JSON.parse(JSON.stringify({ id: i, ...d }))))
  )
    throw new Error('decisionJson differs from JSON.stringify');
  const m = await interleavedMedians(
    [
      { name: 'JSON.stringify', fn: () => ds.reduce((n, d, i) => n + JSON.stringify({ id: i, ...d }).length, 0) },
      { name: 'decisionJson', fn: () => ds.reduce((n, d, i) => n + decisionJson(d, i).length, 0) },
    ],
    { passes: 7 },
  );
  const per = (k: string) => (m.get(k)! / ds.length) * 1000; // µs per decision
  const bytes = ds.reduce((n, d) => n + JSON.stringify(d).length, 0) / ds.length;
  summary[name] = {
    stringifyUs: per('JSON.stringify'),
    compiledUs: per('decisionJson'),
    ratio: per('JSON.stringify') / per('decisionJson'),
    bytes,
  };
  for (const k of ['JSON.stringify', 'decisionJson'])
    rows.push({
      name: `${name}: ${k}`,
      kind: k === 'decisionJson' ? 'backend' : 'peer',
      Q: ds.length,
      medianMs: m.get(k)!,
      qps: (1000 * ds.length) / m.get(k)!,
      note: `${per(k).toFixed(2)} µs a decision of ${bytes.toFixed(0)} bytes${k === 'decisionJson' ? `; ${summary[name].ratio.toFixed(2)}× JSON.stringify` : ''}`,
    });
}
printTable('decisions to JSON (2,000 decisions a pass; medians of 7 alternating passes)', rows, 'decisions/s');
process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
process.stdout.write(
  `wrote ${writeResults('serialize', { shape: { decisions: prompts.length }, results: rows, summary })}\n`,
);
process.exit(0);
