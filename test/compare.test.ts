/**
 * The comparison bench live, against a local upstream with planted quality: a model that answers
 * right, one that answers wrong and one that fails — the failures recorded and the rest scored,
 * the right one ranked first and significantly so; results streamed to disk and a rerun resumed
 * without calling again; ratings on the requests unless --dry-run; the reports written; every
 * input problem a one-line coded error before any call; and POST /v1/compare side by side.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compare, type CompareCase } from '../src/compare/index.js';
import { ErrorCodes } from '../src/errors.js';
import { createArbiter } from '../src/index.js';
import { buildGateway } from '../src/server/index.js';
import { sendCompletion, startUpstream } from './helpers.js';

const run = promisify(execFile);
let calls = 0;
const perModel = new Map<string, number>();
let baseUrl: string;
let closeUpstream: () => Promise<void>;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream(({ model, messages }, _req, res) => {
    calls++;
    perModel.set(model, (perModel.get(model) ?? 0) + 1);
    const prompt = (messages as Array<{ content: string }>).at(-1)!.content;
    const [a, b] = (/(\d+) \+ (\d+)/.exec(prompt) ?? []).slice(1).map(Number);
    if (model === 'broken') return void res.writeHead(500).end('{}');
    const right = (a ?? 0) + (b ?? 0);
    let content = model === 'right' ? `The answer is ${right}.` : `The answer is ${right + 1}.`;
    // judges: `judge` knows the sum; `biased` always prefers the first answer it is shown
    const correct = (text: string) => new RegExp(`answer is ${right}\\.`).test(text);
    if (model === 'judge' || model === 'biased') {
      if (prompt.includes('Reply with exactly one of: A, B, tie')) {
        const [, ansA, ansB] = /Answer A:\n([\s\S]*?)\n\nAnswer B:\n([\s\S]*)$/.exec(prompt)!;
        content = model === 'biased' ? 'A' : correct(ansA!) === correct(ansB!) ? 'tie' : correct(ansA!) ? 'A' : 'B';
      } else content = model === 'biased' ? '5' : correct(prompt.split('Answer:\n')[1]!) ? '9' : '2';
    }
    sendCompletion(res, model, content, { prompt_tokens: 10, completion_tokens: model === 'right' ? 20 : 5 });
  }));
});
afterAll(() => closeUpstream());

const model = (id: string, price: number) => ({
  id,
  provider: { kind: 'openai', baseUrl, retries: 0 },
  cost: { inputPer1k: price, outputPer1k: price },
});
const config = (dir: string) => ({
  models: [model('right', 0.01), model('wrong', 0.001), model('broken', 0.001), model('judge', 0), model('biased', 0)],
  store: { url: `sqlite:${join(dir, 's.db')}`, flushMs: 20 },
});
const cases: CompareCase[] = Array.from({ length: 30 }, (_, i) => ({
  id: `c${i}`,
  prompt: `What is ${i} + ${2 * i}?`,
  task: 'math',
  reference: String(3 * i),
}));

describe('compare() against planted quality', () => {
  it('scores, ranks with significance, keeps failures, streams results and resumes without calling again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-compare-'));
    const engine = await createArbiter(config(dir));
    calls = 0;
    perModel.clear();
    const out = join(dir, 'out');
    const { report, results } = await compare(engine, cases, {
      models: ['right', 'wrong', 'broken'],
      concurrency: 4,
      retries: 1,
      out,
      learn: true,
    });
    expect(results).toHaveLength(90);
    expect([perModel.get('right'), perModel.get('wrong')]).toEqual([30, 30]);
    // the broken model: tried (and retried) until its breaker opened, then refused at once
    expect(new Set(results.filter((r) => r.model === 'broken').map((r) => r.code))).toEqual(
      new Set([ErrorCodes.UPSTREAM_ERROR, ErrorCodes.CIRCUIT_OPEN]),
    );
    const byModel = Object.fromEntries(report.models.map((m) => [m.model, m]));
    expect(byModel.right!.quality.mean).toBe(1);
    expect(byModel.wrong!.quality.mean).toBe(0);
    expect(byModel.broken).toMatchObject({ errors: 30, errorRate: 1 });
    const rw = report.pairs.find((p) => p.a === 'right' && p.b === 'wrong')!;
    expect(rw).toMatchObject({ winsA: 30, winsB: 0, test: 'mcnemar', significant: true });
    expect(report.recommendations.quality).toBe('right');
    expect(report.recommendations.cost).not.toBe('right');
    expect(byModel.right!.strength.value).toBeGreaterThan(byModel.wrong!.strength.value);
    // results on disk, answers included; the reports beside them
    const lines = (await readFile(join(out, 'results.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(90);
    expect(JSON.parse(lines.find((l) => l.includes('"model":"right"'))!).output).toMatch(/^The answer is \d+\.$/);
    expect((await readdir(out)).sort()).toEqual([
      'pareto.svg',
      'report.html',
      'report.json',
      'report.md',
      'results.jsonl',
      'win-matrix.svg',
    ]);
    expect(await readFile(join(out, 'report.html'), 'utf8')).toMatch(/^<!doctype html>[\s\S]*<svg/);
    // the answers were rated on their requests (source test): the profiles learn who won
    await engine.store!.flush();
    const rated = await engine
      .store!.sql.db.selectFrom('feedback')
      .select('source')
      .where('source', '=', 'test')
      .execute();
    expect(rated).toHaveLength(60);
    // a rerun resumes: nothing is called again
    calls = 0;
    const again = await compare(engine, cases, { models: ['right', 'wrong', 'broken'], out, retries: 1 });
    expect(calls).toBe(0);
    expect(again.results.every((r) => r.cached)).toBe(true);
    expect(again.report.models.map((m) => m.quality.mean)).toEqual(report.models.map((m) => m.quality.mean));
    await engine.close();
  });
});

describe('arbiter compare (the command)', () => {
  it('runs, prints the table, and refuses bad input with one coded line before any call', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-compare-cli-'));
    const cfg = join(dir, 'c.yaml');
    await writeFile(
      cfg,
      [
        'models:',
        ...['right', 'wrong'].map(
          (m) =>
            `  - { id: ${m}, provider: { kind: openai, baseUrl: "${baseUrl}", retries: 0 }, cost: { inputPer1k: 0.001, outputPer1k: 0.001 } }`,
        ),
        'store: { url: none }',
      ].join('\n'),
    );
    const prompts = join(dir, 'p.jsonl');
    await writeFile(
      prompts,
      cases
        .slice(0, 8)
        .map((c) => JSON.stringify(c))
        .join('\n'),
    );
    const cli = (...args: string[]) => run(process.execPath, ['bin/arbiter.js', 'compare', '--config', cfg, ...args]);
    const ok = await cli('--models', 'right,wrong', '--prompts', prompts, '--out', join(dir, 'out'), '--dry-run');
    expect(ok.stdout).toMatch(/best overall right/);
    expect(ok.stderr).toMatch(/compare: 16\/16 calls \(100%\)/); // progress off a terminal
    const fails = async (args: string[], pattern: RegExp) => {
      calls = 0;
      const e = (await cli(...args).catch((x: unknown) => x)) as { code: number; stderr: string };
      expect(e.code, args.join(' ')).not.toBe(0);
      expect(e.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(e.stderr).toMatch(pattern);
      expect(calls).toBe(0);
    };
    await fails(['--models', 'right', '--prompts', prompts], /ARB_INVALID_ARGUMENT: compare needs at least 2 models/);
    await fails(
      ['--models', Array.from({ length: 11 }, (_, i) => `m${i}`).join(','), '--prompts', prompts],
      /at most 10 models \(raise it with --max-models\)/,
    );
    await fails(['--models', 'right,gpt-9', '--prompts', prompts], /ARB_NOT_FOUND: unknown models: gpt-9/);
    await fails(
      ['--models', 'right,wrong', '--prompts', prompts, '--weights', '0,0,0'],
      /at least one weight must be > 0/,
    );
    const broken = join(dir, 'bad.jsonl');
    await writeFile(broken, `${JSON.stringify(cases[0])}\n{not json\n{"id": 3}\n`);
    await fails(
      ['--models', 'right,wrong', '--prompts', broken],
      /2 malformed lines: .*bad\.jsonl:2: .*bad\.jsonl:3: "prompt"/,
    );
  });
});

describe('POST /v1/compare', () => {
  it('one prompt, every model side by side, a failing model reported beside the others', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-compare-http-'));
    const engine = await createArbiter({ ...config(dir), store: { url: 'none' } });
    const app = await buildGateway({ arbiter: engine });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const post = (body: unknown) =>
      fetch(`${url}/v1/compare`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const res = await post({
      prompt: 'What is 2 + 3?',
      models: ['right', 'wrong', 'broken'],
      task: 'math',
      reference: '5',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      results: Array<{ model: string; status: string; quality: number; output: string | null; code?: string }>;
    };
    expect(body.results.map((r) => [r.model, r.status, r.quality])).toEqual([
      ['right', 'ok', 1],
      ['wrong', 'ok', 0],
      ['broken', 'error', 0],
    ]);
    expect(body.results[0]!.output).toBe('The answer is 5.');
    expect((await post({ prompt: 'x', models: ['right'] })).status).toBe(400);
    const unknown = await post({ prompt: 'x', models: ['right', 'nope'] });
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe(ErrorCodes.NOT_FOUND);
    await app.close();
    await engine.close();
  });
});

describe("the README's comparison", () => {
  it('compares the demo models on the demo prompts, offline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-compare-demo-'));
    for (const f of ['demo.yaml', 'demo-replay.jsonl', 'demo-compare.jsonl'])
      await writeFile(join(dir, f), await readFile(join('config', f)));
    const out = await run(process.execPath, [
      'bin/arbiter.js',
      'compare',
      '--config',
      join(dir, 'demo.yaml'),
      '--models',
      'demo-small,demo-large',
      '--prompts',
      join(dir, 'demo-compare.jsonl'),
      '--out',
      join(dir, 'reports'),
    ]);
    expect(out.stdout).toMatch(/demo-small[\s\S]*demo-large|demo-large[\s\S]*demo-small/);
    expect(out.stdout).toMatch(/best overall demo-(small|large)/);
    expect((await readdir(join(dir, 'reports'))).sort()).toContain('report.html');
  });
});

describe('the judge', () => {
  it('grades each answer, judges pairs in both orders, and a judge biased to the first position decides nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-compare-judge-'));
    const engine = await createArbiter({ ...config(dir), store: { url: 'none' } });
    const some = cases.slice(0, 12).map(({ reference: _r, ...c }) => c); // the judge alone decides quality
    const fair = await compare(engine, some, {
      models: ['right', 'wrong'],
      judge: 'judge',
      pairwise: true,
      retries: 0,
    });
    const q = Object.fromEntries(fair.report.models.map((m) => [m.model, m.quality.mean]));
    expect(q.right).toBeCloseTo(8 / 9, 9); // rubric 9 → (9 − 1) / 9
    expect(q.wrong).toBeCloseTo(1 / 9, 9);
    expect(fair.report.pairs[0]).toMatchObject({
      a: 'right',
      b: 'wrong',
      test: 'judge',
      winsA: 12,
      winsB: 0,
      significant: true,
    });
    const biased = await compare(engine, some, {
      models: ['right', 'wrong'],
      judge: 'biased',
      pairwise: true,
      retries: 0,
    });
    // "A" in both orders is a split verdict: every pair a tie, nothing significant
    expect(biased.report.pairs[0]).toMatchObject({ winsA: 0, winsB: 0, ties: 12, significant: false });
    const bad = await compare(engine, some, { models: ['right', 'wrong'], judge: 'nobody' }).catch((e) => e);
    expect(bad.code).toBe(ErrorCodes.NOT_FOUND);
    expect(bad.message).toMatch(/the judge model "nobody" is not configured/);
    await engine.close();
  });
});
