// The evaluation harness: curve metrics against hand-computed values, and `arbiter eval` end to
// end on generated outcome data with a known structure (no shared data).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { defaultModelDir } from '../src/paths.js';
import { availableBackends } from './helpers.js';
import {
  aiq,
  cheapestReaching,
  convexHull,
  curveSvg,
  evaluateCV,
  markdownReport,
  pgrCurve,
} from '../src/eval/index.js';
import { calibration, pairedBootstrap } from '../src/stats/index.js';
import { StaticEmbedder } from '../src/embed/index.js';
import { type OutcomeRecord } from '../src/learn/index.js';

const backend = availableBackends()[0]!;

describe('curve metrics', () => {
  const pts = [
    { param: 'a', cost: 1, quality: 0.5 },
    { param: 'b', cost: 2, quality: 0.55 }, // under the segment a -> c: not a hull vertex
    { param: 'c', cost: 3, quality: 0.7 },
    { param: 'd', cost: 4, quality: 0.65 }, // dominated by c
    { param: 'e', cost: 5, quality: 0.8 },
  ];

  it('keeps the non-decreasing convex hull', () => {
    expect(convexHull(pts).map((p) => p.param)).toEqual(['a', 'c', 'e']);
  });

  it('AIQ is the mean hull quality over the cost range (trapezoids by hand)', () => {
    // a->c: mean 0.6 over 2; c->e: mean 0.75 over 2 => (1.2 + 1.5) / 4
    expect(aiq(convexHull(pts), 1, 5)).toBeCloseTo(0.675, 6);
    // below the cheapest vertex the quality counts as 0: over [0, 5] => (0 + 2.7) / 5
    expect(aiq(convexHull(pts), 0, 5)).toBeCloseTo(0.54, 2);
  });

  it('finds the cheapest point reaching a target', () => {
    expect(cheapestReaching(pts, 0.6)?.param).toBe('c');
    expect(cheapestReaching(pts, 0.9)).toBeUndefined();
  });

  it('PGR, APGR and CPT for a strong/weak pair', () => {
    // weak 0.6, strong 0.8: a router at 50% strong calls reaching 0.75 has PGR 0.75
    const c = pgrCurve([{ param: 1, cost: 0, quality: 0.75, strongShare: 0.5 }], 0.6, 0.8);
    expect(c.envelope).toEqual([
      { share: 0, pgr: 0 },
      { share: 0.5, pgr: expect.closeTo(0.75, 9) },
      { share: 1, pgr: 1 },
    ]);
    expect(c.apgr).toBeCloseTo(0.5 * 0.375 + 0.5 * 0.875, 9);
    expect(c.cpt(0.5)).toBe(0.5);
    expect(c.cpt(0.8)).toBe(1);
    // random routing (the diagonal) has APGR 0.5
    expect(pgrCurve([], 0.6, 0.8).apgr).toBeCloseTo(0.5, 9);
  });

  it('calibration: ECE and the reliability curve', () => {
    const { ece, curve } = calibration([0.15, 0.15, 0.85, 0.85], [0, 1, 1, 1]);
    // bin 1: predicted 0.15, observed 0.5 (2 items); bin 8: 0.85 vs 1 (2 items)
    expect(ece).toBeCloseTo((2 * 0.35 + 2 * 0.15) / 4, 9);
    expect(curve).toEqual([
      { bin: 1, predicted: 0.15, observed: 0.5, n: 2 },
      { bin: 8, predicted: 0.85, observed: 1, n: 2 },
    ]);
  });

  it('paired bootstrap intervals contain the sample mean and are narrow for large samples', () => {
    const a = Array.from({ length: 2000 }, (_, i) => (i % 10 < 8 ? 1 : 0));
    const b = Array.from({ length: 2000 }, (_, i) => (i % 10 < 7 ? 1 : 0));
    const ci = pairedBootstrap(a, b, { seed: 3 });
    expect(ci.mean[0]).toBeLessThan(0.8);
    expect(ci.mean[1]).toBeGreaterThan(0.8);
    expect(ci.mean[1] - ci.mean[0]).toBeLessThan(0.05);
    expect(ci.diff[0]).toBeGreaterThan(0.08);
    expect(ci.diff[1]).toBeLessThan(0.12);
  });
});

/** Two models: 'strong' (10x the cost) solves everything; 'weak' solves the chat prompts only. */
function outcomes(n: number): OutcomeRecord[] {
  const code = [
    'Write a python function to reverse a string',
    'Implement a binary search in java',
    'Write a SQL query that joins two tables',
    'Write a rust function to parse integers',
  ];
  const chat = [
    'hello, how are you today',
    'thanks for your help yesterday',
    'what do you think about the weather',
    'can you recommend a good movie',
  ];
  return Array.from({ length: n }, (_, i) => {
    const isCode = i % 2 === 0;
    return {
      prompt: `${(isCode ? code : chat)[Math.floor(i / 2) % 4]} (case ${i})`,
      task: isCode ? 'code' : 'conversation',
      outcomes: { strong: 1, weak: isCode ? 0 : 1 },
      costs: { strong: 0.01, weak: 0.001 },
      source: `mem:${i + 1}`,
    };
  });
}

describe('evaluation harness', () => {
  it('k-fold: arbiter sends chat to the weak model and keeps the strong quality, against the baselines', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const r = await evaluateCV('synthetic', outcomes(120), 3, embedder, backend, { innerFolds: 3 });
    expect(r.split).toMatchObject({ test: 120, droppedOverlap: 0, costs: 'observed' });
    expect(r.metrics.bestSingle.model).toBe('strong');
    expect(r.metrics.oracle.quality).toBe(1);
    // the operating point for 95% of the best: close to the oracle, at about half the strong model's cost
    const op = r.operatingPoints[0]!;
    expect(op.quality).toBeGreaterThan(0.95);
    expect(op.costShareOfBest).toBeLessThan(0.7);
    // in hindsight the curve reaches 95% of the strong model's quality at ~55% of its cost
    expect(r.metrics.costSavingAt95['arbiter (cost weight)']).toBeGreaterThan(0.3);
    expect(op.qualityCi[0]).toBeLessThanOrEqual(op.quality);
    expect(r.metrics.pgr!['arbiter (cost weight)']!.apgr).toBeCloseTo(0.75, 2); // the most a perfect router reaches here: PGR 1 from 50% strong calls on
    expect(r.metrics.taskAccuracy).toBeGreaterThan(0.9);
    expect(r.routers.map((x) => x.name)).toEqual(
      expect.arrayContaining([
        'arbiter (cost weight)',
        'arbiter (quality target)',
        'kNN router',
        'single models',
        'random',
        'cheapest',
        'oracle',
      ]),
    );
    const md = markdownReport(r);
    expect(md).toContain('## Operating points (settings chosen on training data only)');
    expect(await curveSvg(r)).toMatch(/^<svg/);
  });

  it('arbiter eval --dataset jsonl --json prints the documented shape and writes the report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-eval-'));
    await writeFile(
      join(dir, 'data.jsonl'),
      outcomes(60)
        .map((r) => JSON.stringify({ prompt: r.prompt, task: r.task, outcomes: r.outcomes, costs: r.costs }))
        .join('\n'),
    );
    const out = join(dir, 'report');
    const res = spawnSync(
      process.execPath,
      [
        'bin/arbiter.js',
        'eval',
        '--dataset',
        'jsonl',
        '--data',
        join(dir, 'data.jsonl'),
        '--out',
        out,
        '--folds',
        '3',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    expect(res.status, res.stderr).toBe(0);
    const j = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(Object.keys(j).sort()).toEqual(['dataset', 'metrics', 'operatingPoints', 'routers', 'split']);
    expect((await readFile(join(out, 'report.md'), 'utf8')).startsWith('# arbiter eval: jsonl')).toBe(true);
    expect(await readFile(join(out, 'reliability.svg'), 'utf8')).toMatch(/^<svg/);
    const bad = spawnSync(
      process.execPath,
      ['bin/arbiter.js', 'eval', '--dataset', 'nope', '--data', dir, '--out', out],
      { encoding: 'utf8' },
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/ARB_INVALID_ARGUMENT: --dataset must be one of/);
    // separate train and test files: no folds; progress on stderr though it is not a terminal;
    // the table's output, redirected, holds no escape codes
    const line = (r: OutcomeRecord) =>
      JSON.stringify({ prompt: r.prompt, task: r.task, outcomes: r.outcomes, costs: r.costs });
    const recs = outcomes(80);
    await writeFile(join(dir, 'train.jsonl'), recs.slice(0, 60).map(line).join('\n'));
    await writeFile(join(dir, 'test.jsonl'), recs.slice(60).map(line).join('\n'));
    const split = spawnSync(
      process.execPath,
      [
        'bin/arbiter.js',
        'eval',
        '--dataset',
        'jsonl',
        '--train',
        join(dir, 'train.jsonl'),
        '--test',
        join(dir, 'test.jsonl'),
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );
    expect(split.status, split.stderr).toBe(0);
    expect(split.stdout).toMatch(/20 evaluated/);
    expect(split.stdout.includes(String.fromCharCode(27))).toBe(false); // no escape codes
    expect(split.stderr).toMatch(/^arbiter eval: /m);
    const half = spawnSync(
      process.execPath,
      ['bin/arbiter.js', 'eval', '--dataset', 'jsonl', '--train', join(dir, 'train.jsonl'), '--out', out],
      {
        encoding: 'utf8',
      },
    );
    expect(half.stderr.trim()).toMatch(/^arbiter: ARB_INVALID_ARGUMENT: --train and --test go together/);
  }, 60_000);
});
