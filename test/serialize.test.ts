/**
 * Decisions through their compiled serializer read back as JSON.stringify writes them: on fresh
 * random prompts (any Unicode, control characters, quotes, empty, long) and on real ones, with the
 * plain router and with the shipped RouterBench router (trained heads: difficulty, distributions),
 * with and without an id (a string or a number).
 */
import { isDeepStrictEqual } from 'node:util';

import { describe, expect, it } from 'vitest';

import { createArbiter } from '../src/index.js';
import { decisionJson, type Decision } from '../src/router/index.js';
import { Random, SEED } from './helpers.js';

const REAL = [
  'Write a python function that merges two sorted lists.',
  'What is 17 * 23?',
  'Summarise the causes of the First World War in three sentences.',
  'Übersetze bitte „Guten Morgen“ ins Spanische.',
  '写一首关于秋天的诗',
  'He said "stop" \\ then\nleft\ttown.',
  '',
];

function randomPrompt(rnd: Random): string {
  const n = rnd.int(0, 400);
  let s = '';
  for (let i = 0; i < n; i++) {
    const pick = rnd.uniform();
    // mostly words, sometimes a quote, backslash or control character, sometimes any code point
    if (pick < 0.7) s += 'abcdefghijklmnopqrstuvwxyz '[rnd.int(0, 27)];
    else if (pick < 0.8) s += '"\\\n\t\u0000\u001f\u2028<>/'[rnd.int(0, 11)];
    else s += String.fromCodePoint(rnd.int(0x20, 0x2fff));
  }
  return s;
}

const same = (d: Decision, id?: string | number) =>
  isDeepStrictEqual(JSON.parse(decisionJson(d, id)), JSON.parse(JSON.stringify(id === undefined ? d : { id, ...d })));

describe(`decisionJson (seed ${SEED})`, () => {
  const routerbench = new URL('../models/routerbench', import.meta.url).pathname;
  for (const [name, routing] of [
    ['the plain router', { strategy: 'balanced' }],
    ['the RouterBench router', { model: routerbench, strategy: 'balanced' }],
  ] as const)
    it(`${name}: every decision reads back as JSON.stringify's`, async () => {
      const models = ['gpt-4-1106-preview', 'mistralai/mixtral-8x7b-chat', 'meta/llama-2-70b-chat'].map((id, i) => ({
        id,
        provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
        cost: { inputPer1k: 0.01 / (i + 1), outputPer1k: 0.03 / (i + 1) },
        strengths: { code: 0.9 - i * 0.1, math: 0.8 - i * 0.1 },
      }));
      const engine = await createArbiter({ models, routing });
      const rnd = new Random(SEED);
      const prompts = [...REAL, ...Array.from({ length: 300 }, () => randomPrompt(rnd))];
      const decisions = await engine.routeBatch(prompts);
      const bad = decisions.flatMap((d, i) => (same(d) && same(d, `r-${i}`) && same(d, i) ? [] : [i]));
      expect(bad).toEqual([]);
      expect(decisions.some((d) => d.analysis.difficulty !== undefined)).toBe(
        routing === undefined || 'model' in routing,
      );
      await engine.close();
    });

  it('a decision holding a non-finite number is written as JSON.stringify writes it (null), not refused', async () => {
    const engine = await createArbiter({
      models: [
        {
          id: 'm',
          provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
          cost: { inputPer1k: 0.001, outputPer1k: 0.002 },
        },
      ],
    });
    const d = await engine.route('What is 17 * 23?');
    const odd = { ...d, confidence: NaN, predicted: { ...d.predicted, latencyMs: Infinity } };
    expect(JSON.parse(decisionJson(odd, 'x'))).toMatchObject({
      id: 'x',
      confidence: null,
      predicted: { latencyMs: null },
    });
    expect(same(odd, 'x')).toBe(true);
    await engine.close();
  });
});
