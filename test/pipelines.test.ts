/**
 * Pipelines against deterministic local upstreams: order and parallelism (from the run's events,
 * not from time), context passed and cut, critical and optional failures, fallbacks, loops that
 * end, a budget that stops a phase before it starts, a deadline and a caller's abort that cancel
 * calls in flight (the upstream sees the connection close), and tokens and cost that reconcile
 * exactly with the upstreams' usage — on the run, and in the store, where each call carries its
 * phase. Then the config's checks by key path, the gateway (JSON with the phases, SSE with
 * progress comments and the output phase's tokens, the openai SDK), and the command.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../src/config/index.js';
import { ErrorCodes } from '../src/errors.js';
import { OutcomeRecorder, runPipeline, type PipelineRun } from '../src/engine/index.js';
import { createArbiter, type Arbiter } from '../src/index.js';
import { buildGateway } from '../src/server/index.js';
import { sendCompletion, startUpstream } from './helpers.js';

const run = promisify(execFile);

// what the upstream saw: each call's model and prompt; connections closed before an answer
const calls: Array<{ model: string; prompt: string }> = [];
const closedEarly: string[] = [];
let reviews = 0;
let pairWaiting: Array<() => void> = [];
let usage = { prompt: 0, completion: 0 };

function answer(res: ServerResponse, model: string, content: string, stream: boolean): void {
  const u = { prompt_tokens: 7 + content.length, completion_tokens: content.length };
  usage.prompt += u.prompt_tokens;
  usage.completion += u.completion_tokens;
  const total = { ...u, total_tokens: u.prompt_tokens + u.completion_tokens };
  if (!stream) return sendCompletion(res, model, content, u);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const base = { id: 'x', object: 'chat.completion.chunk', created: 1, model };
  const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
  for (const piece of [content.slice(0, 5), content.slice(5)])
    send({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
  send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  send({ ...base, choices: [], usage: total });
  res.end('data: [DONE]\n\n');
}

let baseUrl: string;
let closeUpstream: () => Promise<void>;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream((body, req, res) => {
    const messages = body.messages as Array<{ content: string }>;
    const prompt = messages.at(-1)!.content;
    const model = body.model;
    const stream = body.stream === true;
    calls.push({ model, prompt });
    if (model === 'broken') return void res.writeHead(500).end('{}');
    if (model === 'slow') {
      const t = setTimeout(() => answer(res, model, 'late', stream), 5000);
      res.on('close', () => {
        clearTimeout(t);
        if (!res.writableFinished) closedEarly.push(prompt);
      });
      return;
    }
    // two calls to `pair` are answered only once both have arrived: they must run at once
    if (model === 'pair') {
      pairWaiting.push(() => answer(res, model, `pair(${prompt.slice(0, 20)})`, stream));
      if (pairWaiting.length === 2) {
        for (const f of pairWaiting) f();
        pairWaiting = [];
      }
      return;
    }
    if (model === 'reviewer') return answer(res, model, ++reviews >= 3 ? 'PASS' : `FAIL: issue ${reviews}`, stream);
    if (model === 'big') return answer(res, model, `${'A'.repeat(300)}${'Z'.repeat(100)}`, stream);
    answer(res, model, `<${prompt}>`, stream);
  }));
});
afterAll(() => closeUpstream());

const model = (id: string) => ({
  id,
  provider: { kind: 'openai', baseUrl, retries: 0 },
  cost: { inputPer1k: 0.001, outputPer1k: 0.002 },
});
const models = () => ['echo', 'broken', 'slow', 'pair', 'reviewer', 'big'].map(model);

async function engine(pipelines: unknown[], over: Record<string, unknown> = {}): Promise<Arbiter> {
  return createArbiter({ models: models(), pipelines, ...over });
}
describe('running a pipeline', () => {
  it('runs phases in dependency order, independent ones at once, and passes outputs on (cut to the context budget)', async () => {
    const x = await engine([
      {
        id: 'diamond',
        contextTokens: 50,
        phases: [
          { name: 'a', model: 'big', instructions: 'start {{input}}' },
          { name: 'b', model: 'pair', after: ['a'], instructions: 'left' },
          { name: 'c', model: 'pair', after: ['a'], instructions: 'right' },
          { name: 'd', model: 'echo', after: ['b', 'c'], instructions: 'A={{phases.a.output}} B={{phases.b.output}}' },
        ],
      },
    ]);
    const events: string[] = [];
    const rec = new OutcomeRecorder('pipeline', () => {});
    const r = await runPipeline(
      { router: x.router, upstreams: x.upstreams, cache: new Map() },
      x.config.pipelines.find((p) => p.id === 'diamond')!,
      { messages: [{ role: 'user', content: 'go' }] },
      rec,
      { onPhase: (e) => events.push(`${e.type} ${e.phase}`) },
    );
    expect(r.status).toBe('ok');
    // a before both; b and c both started before either ended (the upstream answers them only together)
    expect(events.slice(0, 2)).toEqual(['start a', 'end a']);
    expect(events.slice(2, 4).sort()).toEqual(['start b', 'start c']);
    expect(events.slice(-2)).toEqual(['start d', 'end d']);
    // d's prompt holds a's output cut to 50 tokens (200 characters: the first 150, the last 50) and b's
    const d = calls.filter((c) => c.model === 'echo').at(-1)!.prompt;
    expect(d).toContain(`A=${'A'.repeat(150)}\n[… 200 characters left out …]\n${'Z'.repeat(50)} B=`);
    expect(d).toMatch(/B=pair\(left\)/);
    expect(r.output).toBe(`<${d}>`);
    expect(r.phasesRun).toBe(4);
    expect(r.phasesSucceeded).toBe(4);
    await x.close();
  });

  it('an optional phase that fails is skipped; a critical one falls back, then fails the run with what ran', async () => {
    const x = await engine([
      {
        id: 'robust',
        phases: [
          { name: 'hint', model: 'broken', critical: false, instructions: 'hint {{input}}' },
          { name: 'main', models: ['broken', 'echo'], after: ['hint'], instructions: 'main {{phases.hint.output}}' },
        ],
      },
      {
        id: 'fragile',
        phases: [
          { name: 'first', model: 'echo', instructions: '{{input}}' },
          { name: 'second', model: 'broken', after: ['first'], instructions: 'x' },
          { name: 'third', model: 'echo', after: ['second'], instructions: 'y' },
        ],
      },
    ]);
    const ok = (await x.runPipeline('robust', { messages: [{ role: 'user', content: 'q' }] }))!;
    expect(ok.phases.map((p) => [p.name, p.status])).toEqual([
      ['hint', 'failed'],
      ['main', 'ok'],
    ]);
    expect(ok.phases[1]).toMatchObject({ model: 'echo', fallbacks: ['broken'] });
    expect(ok.output).toBe('<main >'); // the failed phase's output is empty
    const e = await x.runPipeline('fragile', { messages: [{ role: 'user', content: 'q' }] }).catch((err) => err);
    expect(e.code).toBe(ErrorCodes.PIPELINE_FAILED);
    expect(e.details).toEqual([
      'first#1: ok',
      expect.stringMatching(/^second#1: failed \(/),
      'third#1: skipped (the run failed)',
    ]);
    await x.close();
  });

  it('a loop runs again while its condition holds and stops at its bound', async () => {
    const x = await engine([
      {
        id: 'refine',
        phases: [
          { name: 'draft', model: 'echo', instructions: 'draft {{input}}' },
          { name: 'review', model: 'reviewer', after: ['draft'], instructions: 'review' },
          {
            name: 'fix',
            model: 'echo',
            after: ['review'],
            when: { phase: 'review', notMatches: '^PASS' },
            loop: { from: 'review', max: 5 },
            instructions: 'fix {{phases.review.output}}',
          },
        ],
        output: 'fix',
      },
    ]);
    reviews = 0;
    const r = await x.runPipeline('refine', { messages: [{ role: 'user', content: 'q' }] });
    // reviews: FAIL, FAIL, PASS — fix runs twice, then the loop ends on the PASS
    expect(r.phases.map((p) => `${p.name}#${p.pass}`)).toEqual([
      'draft#1',
      'review#1',
      'fix#1',
      'review#2',
      'fix#2',
      'review#3',
    ]);
    expect(r.output).toBe('<fix FAIL: issue 2>');
    reviews = -100; // never passes: the bound stops it after 1 + 5 passes of fix
    const capped = await x.runPipeline('refine', { messages: [{ role: 'user', content: 'q' }] });
    expect(capped.phases.filter((p) => p.name === 'fix')).toHaveLength(6);
    await x.close();
  });

  it('checks the budget before each phase; a share caps max_tokens at the model price', async () => {
    const x = await engine([
      {
        id: 'spend',
        budgetUsd: 0.00001,
        phases: [
          { name: 'one', model: 'echo', instructions: '{{input}}' },
          { name: 'two', model: 'echo', critical: false, after: ['one'], instructions: 'again {{phases.one.output}}' },
          { name: 'three', model: 'echo', after: ['two'], instructions: 'last' },
        ],
      },
    ]);
    const e = await x
      .runPipeline('spend', { messages: [{ role: 'user', content: 'x'.repeat(5000) }] })
      .catch((err) => err);
    expect(e.code).toBe(ErrorCodes.BUDGET_EXCEEDED);
    expect(e.details).toEqual([
      'one#1: ok',
      expect.stringMatching(/^two#1: skipped \(budget spent/),
      expect.stringMatching(/^three#1: skipped \(budget spent/),
    ]);
    await x.close();
  });

  it('a deadline and a caller that goes away cancel the calls in flight', async () => {
    const x = await engine([
      { id: 'late', timeoutMs: 300, phases: [{ name: 'wait', model: 'slow', instructions: 'deadline {{input}}' }] },
      { id: 'gone', phases: [{ name: 'wait', model: 'slow', instructions: 'abort {{input}}' }] },
    ]);
    const late = await x.runPipeline('late', { messages: [{ role: 'user', content: 'q' }] }).catch((err) => err);
    expect(late.code).toBe(ErrorCodes.UPSTREAM_TIMEOUT);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('client went away')), 200);
    const gone = await x
      .runPipeline('gone', { messages: [{ role: 'user', content: 'q' }] }, { signal: ctl.signal })
      .catch((err) => err);
    expect(gone).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 50));
    expect(closedEarly).toEqual(expect.arrayContaining(['deadline q', 'abort q']));
    await x.close();
  });

  it("tokens and cost reconcile exactly with the upstreams' usage — on the run and in the store, each call with its phase", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-pipe-'));
    const x = await engine(
      [
        {
          id: 'three',
          phases: [
            { name: 'a', model: 'echo', instructions: '{{input}}' },
            { name: 'b', models: ['broken', 'echo'], after: ['a'], instructions: 'b {{phases.a.output}}' },
            { name: 'c', model: 'echo', after: ['b'], instructions: 'c {{phases.b.output}}' },
          ],
        },
      ],
      { store: { url: `sqlite:${join(dir, 's.db')}`, flushMs: 20 } },
    );
    usage = { prompt: 0, completion: 0 };
    const r = await x.runPipeline('three', { messages: [{ role: 'user', content: 'hello' }] }, { id: 'run-1' });
    expect(r.promptTokens).toBe(usage.prompt);
    expect(r.completionTokens).toBe(usage.completion);
    expect(r.cost).toBeCloseTo((usage.prompt * 0.001 + usage.completion * 0.002) / 1000, 12);
    await x.store!.flush();
    const rows = await x
      .store!.sql.db.selectFrom('calls')
      .select(['phase', 'model', 'status', 'prompt_tokens', 'completion_tokens'])
      .where('request_id', '=', 'run-1')
      .orderBy('attempt')
      .execute();
    expect(rows.map((c) => [c.phase, c.model, c.status])).toEqual([
      ['a', 'echo', 'ok'],
      ['b', 'broken', 'error'],
      ['b', 'echo', 'ok'],
      ['c', 'echo', 'ok'],
    ]);
    const req = await x
      .store!.sql.db.selectFrom('requests')
      .selectAll()
      .where('id', '=', 'run-1')
      .executeTakeFirstOrThrow();
    expect(req).toMatchObject({ kind: 'pipeline', model: 'pipeline:three', status: 'ok', calls: 4 });
    expect(req.prompt_tokens).toBe(usage.prompt);
    await x.close();
  });

  it("an auto phase's routing requirements: the models allowed, and a floor no model reaches", async () => {
    const x = await engine([
      {
        id: 'routed',
        phases: [{ name: 'only', model: 'auto', route: { allow: ['reviewer'] }, instructions: 'routed {{input}}' }],
      },
      {
        id: 'unreachable',
        phases: [{ name: 'only', model: 'auto:cost', route: { minQuality: 1 }, instructions: 'x {{input}}' }],
      },
    ]);
    reviews = 0;
    const r = await x.runPipeline('routed', { messages: [{ role: 'user', content: 'q' }] });
    expect(r.phases[0]).toMatchObject({ model: 'reviewer', status: 'ok' });
    const e = await x.runPipeline('unreachable', { messages: [{ role: 'user', content: 'q' }] }).catch((err) => err);
    expect(e.code).toBe(ErrorCodes.PIPELINE_FAILED);
    expect(e.details[0]).toMatch(/^only#1: failed \(.*(quality|eligible)/i);
    await x.close();
  });

  it('caches phase outputs by (phase, model, inputs) when asked', async () => {
    const x = await engine([
      { id: 'c', cache: true, phases: [{ name: 'only', model: 'echo', instructions: 'cached {{input}}' }] },
    ]);
    const before = calls.length;
    const a = await x.runPipeline('c', { messages: [{ role: 'user', content: 'same' }] });
    const b = await x.runPipeline('c', { messages: [{ role: 'user', content: 'same' }] });
    expect(calls.length - before).toBe(1);
    expect(b.output).toBe(a.output);
    expect(b.phases[0]).toMatchObject({ cached: true, cost: 0 });
    await x.close();
  });
});

describe('pipeline config checks', () => {
  const check = (pipelines: unknown[]) => () => validateConfig({ models: [model('echo')], pipelines }, 'c.yaml');
  const one = (phases: unknown[], extra: Record<string, unknown> = {}) => check([{ id: 'p', phases, ...extra }]);
  it('refuses cycles, unknown phases, models and template variables, misplaced conditions and loops, by key path', () => {
    expect(
      one([
        { name: 'a', after: ['b'], instructions: 'x' },
        { name: 'b', after: ['a'], instructions: 'y' },
      ]),
    ).toThrow(/pipelines\[0\]\.phases: 'after' makes a cycle: a → b → a/);
    expect(one([{ name: 'a', after: ['zz'], instructions: 'x' }])).toThrow(
      /pipelines\[0\]\.phases\[0\]\.after\[0\]: no phase 'zz'/,
    );
    expect(one([{ name: 'a', model: 'gpt-9', instructions: 'x' }])).toThrow(
      /pipelines\[0\]\.phases\[0\]\.model: 'gpt-9'/,
    );
    expect(
      one([
        { name: 'a', instructions: '{{phases.b.output}}' },
        { name: 'b', instructions: 'x' },
      ]),
    ).toThrow(/phases\[0\]\.instructions: \{\{phases\.b\.output\}\} names a phase that does not run before 'a'/);
    expect(one([{ name: 'a', instructions: '{{user}}' }])).toThrow(/unknown template variable \{\{user\}\}/);
    expect(one([{ name: 'a', instructions: 'x', when: { phase: 'a', matches: 'y' } }])).toThrow(
      /when\.phase: 'a' does not come before/,
    );
    expect(
      one([
        { name: 'a', instructions: 'x' },
        { name: 'b', after: ['a'], instructions: 'x', when: { phase: 'a', matches: '(' } },
      ]),
    ).toThrow(/phases\[1\]\.when\.matches: /);
    expect(
      one([
        { name: 'a', instructions: 'x' },
        { name: 'b', after: ['a'], instructions: 'x', loop: { from: 'a', max: 2 } },
      ]),
    ).toThrow(/phases\[1\]\.loop: a loop needs a when/);
    expect(one([{ name: 'a', instructions: 'x' }], { output: 'nope' })).toThrow(
      /pipelines\[0\]\.output: no phase 'nope'/,
    );
    expect(one([{ name: 'a', model: 'echo', route: { minQuality: 0.5 }, instructions: 'x' }])).toThrow(
      /phases\[0\]\.route: only a phase routed by auto takes routing requirements/,
    );
    expect(one([{ name: 'a', route: { allow: ['gpt-9'] }, instructions: 'x' }])).toThrow(
      /phases\[0\]\.route\.allow\[0\]: 'gpt-9'/,
    );
  });

  it('ships the built-ins (six-phase, moa, critique-revise); a config pipeline of the same id replaces one', () => {
    const cfg = validateConfig({ models: [model('echo')] });
    expect(cfg.pipelines.map((p) => p.id)).toEqual(['six-phase', 'moa', 'critique-revise']);
    const own = validateConfig({
      models: [model('echo')],
      pipelines: [{ id: 'moa', phases: [{ name: 'a', instructions: 'x' }] }],
    });
    expect(own.pipelines.find((p) => p.id === 'moa')!.phases).toHaveLength(1);
    expect(own.pipelines).toHaveLength(3);
  });
});

describe('pipelines through the gateway and the command', () => {
  const pipelines = [
    {
      id: 'two',
      phases: [
        { name: 'think', model: 'echo', instructions: 'think {{input}}' },
        { name: 'say', model: 'echo', after: ['think'], instructions: 'say {{phases.think.output}}' },
      ],
    },
  ];
  it('JSON (with the phases when asked), SSE with progress comments and the output phase streamed, the openai SDK', async () => {
    const x = await engine(pipelines);
    const app = await buildGateway({ arbiter: x });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const msg = [{ role: 'user', content: 'hi' }];
    const json = await post({ model: 'pipeline:two', messages: msg }, { 'x-arbiter-phases': 'true' });
    expect(json.status).toBe(200);
    expect(json.headers.get('x-arbiter-model')).toBe('pipeline:two');
    const body = (await json.json()) as {
      choices: Array<{ message: { content: string } }>;
      arbiter: { pipeline: PipelineRun };
    };
    expect(body.choices[0]!.message.content).toBe('<say <think hi>>');
    expect(body.arbiter.pipeline.phases.map((p) => p.name)).toEqual(['think', 'say']);
    const sse = await (await post({ model: 'pipeline:two', messages: msg, stream: true })).text();
    expect(sse.indexOf(': phase think ok')).toBeGreaterThanOrEqual(0);
    expect(sse.indexOf(': phase think ok')).toBeLessThan(sse.indexOf('"content":"<say '));
    expect(sse.trim().endsWith('data: [DONE]')).toBe(true);
    // the output phase streamed: its text arrives in the upstream's pieces, not in one chunk
    expect(sse).toContain('"content":"<say "');
    const unknown = await post({ model: 'pipeline:nope', messages: msg });
    expect(unknown.status).toBe(404);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none' });
    let text = '';
    for await (const ch of await client.chat.completions.create({
      model: 'pipeline:two',
      messages: msg as never,
      stream: true,
    }))
      text += ch.choices[0]?.delta.content ?? '';
    expect(text).toBe('<say <think hi>>');
    await app.close();
    await x.close();
  });

  it('arbiter pipeline run prints the output and the phases; an unknown pipeline is a one-line error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-pipe-cli-'));
    const cfg = join(dir, 'c.yaml');
    await writeFile(
      cfg,
      [
        'models:',
        `  - { id: echo, provider: { kind: openai, baseUrl: "${baseUrl}", retries: 0 }, cost: { inputPer1k: 0.001, outputPer1k: 0.002 } }`,
        'store: { url: none }',
        'pipelines:',
        '  - id: two',
        '    phases:',
        '      - { name: think, model: echo, instructions: "think {{input}}" }',
        '      - { name: say, model: echo, after: [think], instructions: "say {{phases.think.output}}" }',
      ].join('\n'),
    );
    const out = await run(process.execPath, [
      'bin/arbiter.js',
      'pipeline',
      'run',
      'two',
      '--input',
      'hi',
      '--config',
      cfg,
    ]);
    expect(out.stdout.split('\n')[0]).toBe('<say <think hi>>');
    expect(out.stdout).toMatch(/2\/2 phases succeeded/);
    const json = JSON.parse(
      (
        await run(process.execPath, [
          'bin/arbiter.js',
          'pipeline',
          'run',
          'two',
          '--input',
          'hi',
          '--json',
          '--config',
          cfg,
        ])
      ).stdout,
    ) as PipelineRun;
    expect(json.phases.map((p) => p.model)).toEqual(['echo', 'echo']);
    const bad = await run(process.execPath, [
      'bin/arbiter.js',
      'pipeline',
      'run',
      'nope',
      '--input',
      'hi',
      '--config',
      cfg,
    ]).catch((e: { stderr: string; code: number }) => e);
    expect((bad as { code: number }).code).not.toBe(0);
    expect((bad as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
    expect((bad as { stderr: string }).stderr).toMatch(/ARB_NOT_FOUND: no pipeline "nope"/);
  });

  it("the README's command: the six-phase pipeline on the offline demo config", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-pipe-demo-'));
    for (const f of ['demo.yaml', 'demo-replay.jsonl'])
      await writeFile(join(dir, f), await readFile(join('config', f)));
    const cfg = join(dir, 'demo.yaml');
    const out = await run(process.execPath, [
      'bin/arbiter.js',
      'pipeline',
      'run',
      'six-phase',
      '--input',
      'What is 17 * 23?',
      '--config',
      cfg,
    ]);
    expect(out.stdout).toMatch(/\d+\/\d+ phases succeeded; \d+ tokens/);
    expect(out.stdout).toMatch(/validate/);
  });
});
