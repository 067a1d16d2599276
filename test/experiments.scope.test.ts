/**
 * Experiments, the rest of their controls: a scope by task (only the requests the router puts in
 * those tasks; overlapping task scopes refused, disjoint ones allowed), the p95 latency guardrail
 * (a challenger behind a slow local upstream is stopped; one no slower is not), and stopping by
 * hand over HTTP and from the command line — the traffic back on the control, nothing changed on
 * bad input; and arms that are a pipeline, a decoding strategy or a trained router.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../src/config/index.js';
import { StaticEmbedder } from '../src/embed/index.js';
import { ErrorCodes } from '../src/errors.js';
import { createArbiter, type Arbiter } from '../src/index.js';
import { defaultModelDir } from '../src/paths.js';
import { armAt, unitHash } from '../src/experiments/index.js';
import { saveRouterModel, train } from '../src/learn/index.js';
import { buildGateway } from '../src/server/index.js';
import { availableBackends, sendCompletion, startUpstream } from './helpers.js';

const run = promisify(execFile);

// an upstream whose models answer by name: `slow` after SLOW_MS, far above what a loaded 2-core
// machine (the browser tests run beside this file) adds to the others' p95; the others after
// BASE_MS, so that the same load's noise (a 3 ms p95 became 9 ms once) is no 1.5x ratio between them
const SLOW_MS = 100;
const BASE_MS = 20;
let baseUrl: string;
let closeUpstream: () => Promise<void>;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream(({ model }, _req, res) => {
    const answer = () => sendCompletion(res, model, `from ${model}`);
    setTimeout(answer, model === 'slow' ? SLOW_MS : BASE_MS);
  }));
});
afterAll(() => closeUpstream());

const backend = availableBackends()[0]!;
const model = (id: string) => ({
  id,
  provider: { kind: 'openai', baseUrl, retries: 0 },
  cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
});
async function open(dir: string, experiments: unknown[]): Promise<Arbiter> {
  return createArbiter(
    {
      models: [model('fast'), model('slow'), model('other')],
      routing: { strategy: 'cost' },
      store: { url: `sqlite:${join(dir, 'x.db')}`, flushMs: 20 },
      experiments,
    },
    { backend, embedder: await StaticEmbedder.load(defaultModelDir(), backend) },
  );
}
const ask = (x: Arbiter, user: string, content = `Explain recursion (${user}).`) =>
  x.complete({ model: 'auto', user, messages: [{ role: 'user', content }] });

describe('experiments scoped by task', () => {
  it("takes only the requests the router puts in the scope's tasks (and, scoped by user, those users')", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-exp-task-'));
    const probe = await open(dir, []);
    const prompts = [
      'Solve for x: 3x + 7 = 22.',
      'Write a short poem about the sea.',
      'Write a Python function that reverses a list.',
      'What is the capital of France?',
    ];
    const tasks = await Promise.all(prompts.map(async (p) => (await probe.route(p)).task.label));
    await probe.close();
    const inScope = tasks[0]!;
    const outside = prompts.find((_, i) => tasks[i] !== inScope);
    expect(outside, `the router gave every probe prompt task ${inScope}`).toBeDefined();
    const arms = [
      { id: 'control', model: 'fast' },
      { id: 'challenger', model: 'other' },
    ];
    const x = await open(dir, [{ id: 'bytask', tasks: [inScope], arms }]);
    for (let i = 0; i < 10; i++) {
      expect((await ask(x, `u${i}`, prompts[0])).experiment).toMatch(/^bytask\//);
      expect((await ask(x, `u${i}`, outside)).experiment).toBeUndefined();
    }
    await x.close();
    // a scope by user takes only those users' requests
    const y = await open(await mkdtemp(join(tmpdir(), 'arbiter-exp-users-')), [{ id: 'vip', users: ['ann'], arms }]);
    expect((await ask(y, 'ann')).experiment).toMatch(/^vip\//);
    expect((await ask(y, 'bo')).experiment).toBeUndefined();
    await y.close();
  });

  it('refuses overlapping task scopes and allows disjoint ones', () => {
    const base = {
      models: [
        { id: 'a', provider: { kind: 'replay', data: 'x.jsonl' }, cost: { inputPer1k: 0, outputPer1k: 0 } },
        { id: 'b', provider: { kind: 'replay', data: 'x.jsonl' }, cost: { inputPer1k: 0, outputPer1k: 0 } },
      ],
    };
    const arms = [
      { id: 'control', model: 'a' },
      { id: 'other', model: 'b' },
    ];
    const two = (t1: string[], t2: string[]) =>
      validateConfig({
        ...base,
        experiments: [
          { id: 'one', tasks: t1, arms },
          { id: 'two', tasks: t2, arms },
        ],
      });
    expect(() => two(['math', 'code'], ['code'])).toThrow(/experiments\[1\]: overlaps experiment 'one'/);
    expect(two(['math'], ['code']).experiments).toHaveLength(2);
    expect(() => two([], ['code'])).toThrow(/tasks/);
    // scopes by user: overlapping lists are refused, disjoint ones allowed
    const byUsers = (u1: string[], u2: string[]) =>
      validateConfig({
        ...base,
        experiments: [
          { id: 'one', users: u1, arms },
          { id: 'two', users: u2, arms },
        ],
      });
    expect(() => byUsers(['ann', 'bo'], ['bo'])).toThrow(/overlaps experiment 'one'/);
    expect(byUsers(['ann'], ['bo']).experiments).toHaveLength(2);
  });
});

describe('the p95 latency guardrail', () => {
  it('stops a challenger whose p95 latency is past the ratio and clearly above; a challenger no slower runs on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-exp-p95-'));
    const arms = (challenger: string) => [
      { id: 'control', model: 'fast' },
      { id: 'challenger', model: challenger },
    ];
    const guardrails = { minUnits: 40, latencyRatio: 1.5 };
    const x = await open(dir, [
      { id: 'slowdown', arms: arms('slow'), guardrails, header: { name: 'x-exp', value: 'slow' } },
      { id: 'same', arms: arms('other'), guardrails, header: { name: 'x-exp', value: 'same' } },
    ]);
    for (let i = 0; i < 200; i++)
      await Promise.all(
        ['slow', 'same'].map((exp) =>
          x.complete(
            { model: 'auto', user: `u${i}`, messages: [{ role: 'user', content: 'hello' }] },
            { headers: { 'x-exp': exp } },
          ),
        ),
      );
    await x.experiments!.check();
    const slow = (await x.experiments!.report('slowdown'))!;
    // what the guardrail read: each arm's p95 inside its order-statistic interval, the challenger's wholly above
    const [pc, pa] = [slow.arms[0]!.p95LatencyMs!, slow.arms[1]!.p95LatencyMs!];
    for (const q of [pc, pa]) expect(q.low <= q.point && q.point <= q.high).toBe(true);
    expect(pa.low > pc.high).toBe(true);
    expect(slow.guardrails[0]!.breached.join()).toMatch(/p95 latency/);
    expect(slow.status).toMatchObject({ state: 'stopped', arm: 'control' });
    const same = (await x.experiments!.report('same'))!;
    expect(same.guardrails[0]!.breached).toEqual([]);
    expect(same.status.state).toBe('running');
    await x.close();
  });
});

describe('stopping an experiment by hand', () => {
  it('over HTTP (admin) and from the command line: its traffic goes back to the control', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-exp-stop-'));
    const arms = [
      { id: 'control', model: 'fast' },
      { id: 'challenger', model: 'other' },
    ];
    const x = await open(dir, [{ id: 'ab', arms, unit: 'request' }]);
    const app = await buildGateway({ arbiter: x, auth: { clientKeys: ['c'], adminKeys: ['adm'] } });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const post = (path: string, key: string, body?: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      });
    expect((await post('/v1/experiments/ab/stop', 'c')).status).toBe(403);
    const missing = await post('/v1/experiments/nope/stop', 'adm');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(ErrorCodes.NOT_FOUND);
    expect((await post('/v1/experiments/ab/stop', 'adm', { reason: 5 })).status).toBe(400);
    expect(x.experiments!.state('ab')!.state).toBe('running'); // nothing changed
    const stopped = await post('/v1/experiments/ab/stop', 'adm', { reason: 'budget' });
    expect(stopped.status).toBe(200);
    expect(((await stopped.json()) as { status: unknown }).status).toMatchObject({
      state: 'stopped',
      arm: 'control',
      reason: 'budget',
    });
    for (let i = 0; i < 5; i++) expect((await ask(x, `u${i}`)).model).toBe('fast');
    await app.close();
    await x.close();

    // the command, on a config file with its store
    const cfg = join(dir, 'c.yaml');
    await writeFile(
      cfg,
      [
        'models:',
        '  - { id: a, provider: { kind: openai, baseUrl: "http://127.0.0.1:9/v1" }, cost: { inputPer1k: 0, outputPer1k: 0 } }',
        '  - { id: b, provider: { kind: openai, baseUrl: "http://127.0.0.1:9/v1" }, cost: { inputPer1k: 0, outputPer1k: 0 } }',
        'store: { url: "sqlite:./s.db" }',
        'experiments:',
        '  - { id: e, arms: [{ id: control, model: a }, { id: b, model: b }] }',
      ].join('\n'),
    );
    const cli = (...args: string[]) =>
      run(process.execPath, ['bin/arbiter.js', 'experiments', ...args, '--config', cfg]);
    const out = await cli('stop', 'e', '--reason', 'by hand');
    expect(out.stdout).toMatch(/^e: stopped \(control\)/);
    const list = JSON.parse((await cli('list', '--json')).stdout) as Array<{
      status: { state: string; reason: string };
    }>;
    expect(list[0]!.status).toMatchObject({ state: 'stopped', reason: 'by hand' });
    const bad = await cli('stop', 'nope').catch((e: { stderr: string; code: number }) => e);
    expect((bad as { code: number }).code).not.toBe(0);
    expect((bad as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('arms beyond models and strategies', () => {
  it('a pipeline, a decoding strategy and a trained router each serve their arm', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-exp-arms-'));
    // a router trained to send code to `other` and chat to `fast`
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const records = Array.from({ length: 200 }, (_, i) => {
      const code = i % 2 === 0;
      return {
        prompt: `${code ? 'Write a python function to sort a list' : 'hello, how are you today'} (variant ${i})`,
        task: code ? 'code' : 'conversation',
        outcomes: { other: code ? 1 : 0, fast: code ? 0 : 1 },
        costs: { other: 0.01, fast: 0.001 },
        source: `mem:${i + 1}`,
      };
    });
    const trained = await train(records, embedder, backend, { valFraction: 0.2, seed: 3, k: 8 });
    const routerDir = join(dir, 'router');
    await saveRouterModel(routerDir, { ...trained, embedder, produced: { by: 'test' } });
    trained.manifold.free();
    const experiment = {
      id: 'kinds',
      arms: [
        { id: 'control', model: 'fast' },
        { id: 'piped', pipeline: 'two' },
        { id: 'decoded', decoding: 'best_of_n' },
        { id: 'trained', router: routerDir },
      ],
    };
    const x = await createArbiter(
      {
        models: [model('fast'), model('slow'), model('other')],
        routing: { strategy: 'quality' },
        store: { url: `sqlite:${join(dir, 'x.db')}`, flushMs: 20 },
        pipelines: [
          {
            id: 'two',
            phases: [
              { name: 'a', model: 'fast', instructions: 'a {{input}}' },
              { name: 'b', model: 'other', after: ['a'], instructions: 'b {{phases.a.output}}' },
            ],
          },
        ],
        experiments: [experiment],
      },
      { backend },
    );
    const cfgDef = x.experiments!.defs[0]!;
    const userFor = (arm: string) => {
      for (let i = 0; ; i++) if (armAt(cfgDef, unitHash('kinds', `u${i}`)).id === arm) return `u${i}`;
    };
    const code = 'Write a python function to sort a list (variant 9999)';
    const piped = await ask(x, userFor('piped'), code);
    expect(piped).toMatchObject({ model: 'pipeline:two', experiment: 'kinds/piped' });
    const decoded = await ask(x, userFor('decoded'), code);
    expect(decoded.experiment).toBe('kinds/decoded');
    expect(decoded.reason).toMatch(/decoding best_of_n: \d+ calls/);
    const routed = await ask(x, userFor('trained'), code);
    expect(routed).toMatchObject({ model: 'other', experiment: 'kinds/trained' });
    expect((await ask(x, userFor('trained'), 'hello, how are you today (variant 9998)')).model).toBe('fast');
    // a bad arm is refused by name, and nothing is kept
    const bad = await x
      .createExperiment({
        id: 'bad',
        header: { name: 'x-b' },
        arms: [
          { id: 'a', model: 'fast' },
          { id: 'b', router: join(dir, 'nope') },
        ],
      })
      .catch((e) => e);
    expect(bad).toBeInstanceOf(Error);
    expect(x.experiments!.defs.map((d) => d.id)).toEqual(['kinds']);
    await x.close();
  });
});

describe('quality from one source', () => {
  it('counts only the ratings of the source the experiment names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-exp-source-'));
    const arms = [
      { id: 'control', model: 'fast' },
      { id: 'challenger', model: 'other' },
    ];
    const x = await open(dir, [{ id: 'users', arms, unit: 'request', qualitySource: 'user' }]);
    for (let i = 0; i < 20; i++) {
      const r = await ask(x, `u${i}`);
      await x.rate(r.id, { score: 1, source: i % 2 ? 'user' : 'test' });
    }
    const report = (await x.experiments!.report('users'))!;
    expect(report.arms.reduce((n, a) => n + a.rated, 0)).toBe(10);
    expect(report.arms.reduce((n, a) => n + a.requests, 0)).toBe(20);
    await x.close();
  });
});
