/**
 * Costs for outcome data that has none: per-model token counts in JSONL priced with the config's
 * list prices (exactly), lengths estimated where there are no counts, bad token fields refused
 * with their line; and `arbiter train --config` costing cost-less records, so the router learns
 * real operating points instead of $0 ones.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { costMatrix, loadJsonl } from '../src/eval/index.js';
import { seededRandom } from '../src/stats/index.js';
import { SEED } from './helpers.js';

const prices = { big: { inputPer1k: 0.01, outputPer1k: 0.03 }, small: { inputPer1k: 0.0005, outputPer1k: 0.0015 } };

describe('costs from token counts', () => {
  it('prices each model’s token counts exactly; estimates only where there are none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-costs-'));
    const rnd = seededRandom(SEED);
    const rows = Array.from({ length: 20 }, (_, i) => ({
      prompt: `question ${i}`,
      outcomes: { big: 1, small: i % 2 },
      tokens: {
        big: { prompt: 10 + Math.floor(rnd() * 500), completion: 1 + Math.floor(rnd() * 800) },
        small: { prompt: 10 + Math.floor(rnd() * 500), completion: 1 + Math.floor(rnd() * 800) },
      },
    }));
    await writeFile(join(dir, 'd.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
    const recs = await loadJsonl(join(dir, 'd.jsonl'));
    const { cost, source } = costMatrix(recs, ['big', 'small'], prices);
    expect(source).toBe('token counts × list prices');
    rows.forEach((r, i) =>
      (['big', 'small'] as const).forEach((m, j) =>
        expect(cost[i]![j], `seed ${SEED}`).toBeCloseTo(
          (r.tokens[m].prompt / 1000) * prices[m].inputPer1k + (r.tokens[m].completion / 1000) * prices[m].outputPer1k,
          12,
        ),
      ),
    );
    const { tokens: _t, ...noTokens } = rows[0]!;
    expect(costMatrix([{ ...noTokens, costs: {}, source: 'x' }], ['big', 'small'], prices).source).toBe(
      'estimated from list prices',
    );
    await writeFile(
      join(dir, 'bad.jsonl'),
      JSON.stringify({ ...rows[0], tokens: { big: { prompt: -1, completion: 2 } } }),
    );
    await expect(loadJsonl(join(dir, 'bad.jsonl'))).rejects.toThrow(
      /bad\.jsonl:1.*tokens\.big must be \{prompt, completion\}/,
    );
  });

  it('arbiter train --config costs records that have none: operating points above $0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-train-prices-'));
    const lines = Array.from({ length: 80 }, (_, i) => {
      const code = i % 2 === 0;
      return JSON.stringify({
        prompt: `${code ? 'Write a python function to sort a list' : 'hello, how are you today'} (case ${i})`,
        task: code ? 'code' : 'conversation',
        outcomes: { big: 1, small: code ? 0 : 1 },
      });
    });
    await writeFile(join(dir, 'd.jsonl'), lines.join('\n'));
    await writeFile(
      join(dir, 'c.yaml'),
      [
        'models:',
        '  - { id: big, provider: { kind: openai, baseUrl: "http://127.0.0.1:9/v1" }, cost: { inputPer1k: 0.01, outputPer1k: 0.03 } }',
        '  - { id: small, provider: { kind: openai, baseUrl: "http://127.0.0.1:9/v1" }, cost: { inputPer1k: 0.0005, outputPer1k: 0.0015 } }',
        'store: { url: none }',
      ].join('\n'),
    );
    const train = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        [
          'bin/arbiter.js',
          'train',
          '--format',
          'jsonl',
          '--data',
          join(dir, 'd.jsonl'),
          '--out',
          join(dir, 'model'),
          '--json',
          ...extra,
        ],
        { encoding: 'utf8' },
      );
    const priced = train('--config', join(dir, 'c.yaml'));
    expect(priced.status, priced.stderr).toBe(0);
    const report = JSON.parse(priced.stdout) as {
      singleModels: Record<string, { cost: number }>;
      curve: Array<{ cost: number }>;
    };
    expect(report.singleModels.big!.cost).toBeGreaterThan(report.singleModels.small!.cost);
    expect(report.singleModels.small!.cost).toBeGreaterThan(0);
    expect(Math.max(...report.curve.map((p) => p.cost))).toBeGreaterThan(0);
  }, 60_000);

  it('arbiter train reads several sources (a format each), renames a model with --alias, and prices only missing costs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-train-sources-'));
    const rows = (model: string, withCost: boolean) =>
      Array.from({ length: 30 }, (_, i) =>
        JSON.stringify({
          prompt: `${i % 2 ? 'Write a python function to sort a list' : 'hello, how are you today'} (${model} ${i})`,
          task: i % 2 ? 'code' : 'conversation',
          outcomes: { big: 1, [model]: i % 2 ? 0 : 1 },
          ...(withCost ? { costs: { big: 0.5, [model]: 0.25 } } : {}),
        }),
      ).join('\n');
    await writeFile(join(dir, 'a.jsonl'), rows('small', true));
    await writeFile(join(dir, 'b.jsonl'), rows('small-v2', false)); // the same model under another name
    await writeFile(
      join(dir, 'c.yaml'),
      [
        'models:',
        '  - { id: big, provider: { kind: openai, baseUrl: "http://127.0.0.1:9/v1" }, cost: { inputPer1k: 0.01, outputPer1k: 0.03 } }',
        '  - { id: small, provider: { kind: openai, baseUrl: "http://127.0.0.1:9/v1" }, cost: { inputPer1k: 0.0005, outputPer1k: 0.0015 } }',
      ].join('\n'),
    );
    const out = join(dir, 'model');
    const args = ['--data', join(dir, 'a.jsonl'), '--data', join(dir, 'b.jsonl'), '--format', 'jsonl'];
    const r = spawnSync(
      process.execPath,
      [
        'bin/arbiter.js',
        'train',
        ...args,
        '--alias',
        'small-v2=small',
        '--config',
        join(dir, 'c.yaml'),
        '--out',
        out,
        '--json',
        '--val',
        '0',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { models: string[]; records: number }).models).toEqual(['big', 'small']);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as {
      produced: { command: string };
    };
    expect(manifest.produced.command).toContain(
      `--data ${join(dir, 'a.jsonl')} --format jsonl --data ${join(dir, 'b.jsonl')} --format jsonl --alias small-v2=small`,
    );
    // a.jsonl's observed costs kept (0.25), b.jsonl's priced from the config (far below)
    const { costs } = JSON.parse(await readFile(join(out, 'costs.json'), 'utf8')) as {
      costs: Record<string, Record<string, number>>;
    };
    expect(costs.small!['*']).toBeGreaterThan(0.125);
    expect(costs.small!['*']).toBeLessThan(0.13);
    const bad = spawnSync(
      process.execPath,
      ['bin/arbiter.js', 'train', ...args, '--format', 'jsonl', '--format', 'jsonl', '--out', out],
      { encoding: 'utf8' },
    );
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/one --format, or one per --data/);
  }, 60_000);
});
