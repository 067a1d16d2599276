// The outcome data loaders: the documented JSONL format, RouteLLM- and RouterBench-style folders,
// and their file:line errors (generated files, no shared data).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadJsonl, loadRouteLLM, loadRouterBench } from '../src/eval/index.js';

describe('outcome data loaders', () => {
  it('reads the documented JSONL format and names file:line on errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-data-'));
    const f = join(dir, 'a.jsonl');
    await writeFile(
      f,
      `${JSON.stringify({ prompt: 'p', task: 'code', outcomes: { a: 1, b: 0.5 }, costs: { a: 0.1 } })}\n\n${JSON.stringify({ prompt: 'q', outcomes: { a: 0 } })}\n`,
    );
    const recs = await loadJsonl(f);
    expect(recs).toEqual([
      { prompt: 'p', task: 'code', outcomes: { a: 1, b: 0.5 }, costs: { a: 0.1 }, source: `${f}:1` },
      { prompt: 'q', outcomes: { a: 0 }, costs: {}, source: `${f}:3` },
    ]);
    await writeFile(
      f,
      `${JSON.stringify({ prompt: 'p', outcomes: { a: 1 } })}\n${JSON.stringify({ prompt: 'p', outcomes: { a: 2 } })}\n`,
    );
    await expect(loadJsonl(f)).rejects.toThrow(`${f}:2: outcomes.a must be a number in [0, 1]`);
    await writeFile(f, '{"prompt": 1}\n');
    await expect(loadJsonl(f)).rejects.toThrow(`${f}:1: "prompt" must be a string`);
  });

  it('reads RouteLLM-style folders: True/False CSVs, MT-Bench judge scores, contaminated prompts left out', async () => {
    const root = await mkdtemp(join(tmpdir(), 'arbiter-rl-'));
    const { mkdir } = await import('node:fs/promises');
    for (const d of ['mmlu', 'gsm8k', 'mt_bench']) await mkdir(join(root, d));
    await writeFile(
      join(root, 'mmlu', 'mmlu_anatomy.csv'),
      'prompt,weak,strong\n"Which bone?\nA. x\nB. y\nAnswer:",False,True\nWhat is 2+2?,True,True\n',
    );
    await writeFile(
      join(root, 'mmlu', 'contaminated_prompts.jsonl'),
      `${JSON.stringify({ train_prompt: 'x', eval_prompt: 'what is 2+2?' })}\n`,
    );
    await writeFile(
      join(root, 'gsm8k', 'gsm8k_responses.csv'),
      'prompt,weak,strong,weak_response,strong_response\nTom has 3 apples...,True,False,"3","4"\n',
    );
    await writeFile(
      join(root, 'mt_bench', 'question.jsonl'),
      `${JSON.stringify({ question_id: 81, category: 'writing', turns: ['Write a poem', 'Shorter'] })}\n`,
    );
    await writeFile(
      join(root, 'mt_bench', 'judgements.jsonl'),
      [
        { question_id: 81, model: 'strong', score: 10, turn: 1 },
        { question_id: 81, model: 'strong', score: 8, turn: 2 },
        { question_id: 81, model: 'weak', score: 1, turn: 1 },
        { question_id: 81, model: 'weak', score: -1, turn: 2 },
      ]
        .map((j) => JSON.stringify(j))
        .join('\n'),
    );
    const recs = await loadRouteLLM(root);
    expect(recs.map((r) => [r.prompt, r.task, r.outcomes])).toEqual([
      ['Tom has 3 apples...', 'math', { weak: 1, strong: 0 }],
      ['Which bone?\nA. x\nB. y\nAnswer:', 'knowledge', { weak: 0, strong: 1 }],
      ['Write a poem', 'creative', { strong: 8 / 9, weak: 0 }],
    ]);
    expect(await loadRouteLLM(root, { includeContaminated: true })).toHaveLength(4);
    await writeFile(join(root, 'gsm8k', 'gsm8k_responses.csv'), 'prompt,weak,strong\nq,maybe,True\n');
    await expect(loadRouteLLM(root)).rejects.toThrow(
      /gsm8k_responses\.csv:2: weak: expected True or False, got "maybe"/,
    );
    await expect(loadRouteLLM(join(root, 'nope'))).rejects.toMatchObject({ code: 'ARB_INVALID_ARGUMENT' });
  });

  it('reads RouterBench-style CSVs (models from "<model>|total_cost" columns, task from eval_name)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-rb-'));
    const csv = [
      'sample_id,prompt,eval_name,m1,m2,m1|total_cost,m2|total_cost,m1|model_response',
      `1,"['Say hi\\nnow']",arc-challenge,1.0,0.0,0.002,0.0001,hi`,
      `2,"['Code it']",mbpp,0.0,1.0,0.003,0.0002,x`,
    ].join('\n');
    await writeFile(join(dir, 'x_train.csv'), csv);
    await writeFile(join(dir, 'x_test.csv'), csv.replace('1.0,0.0', '7,0.0'));
    const recs = await loadRouterBench(dir, 'train');
    expect(recs.map((r) => [r.prompt, r.task, r.outcomes, r.costs])).toEqual([
      ['Say hi\nnow', 'knowledge', { m1: 1, m2: 0 }, { m1: 0.002, m2: 0.0001 }],
      ['Code it', 'code', { m1: 0, m2: 1 }, { m1: 0.003, m2: 0.0002 }],
    ]);
    await expect(loadRouterBench(dir, 'test')).rejects.toThrow(
      /x_test\.csv:2: m1: outcome must be in \[0, 1\], got "7"/,
    );
  });
});
