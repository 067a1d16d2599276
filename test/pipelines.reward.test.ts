/**
 * Reward phases — "cheap generate → reward validate → escalate": a learned cascade rule as a
 * pipeline (src/eval/cascade-pipeline.ts) on a local upstream and a reward that scores by content:
 * a good cheap answer passes and the strong model is never called; a bad or failed one escalates;
 * two cheap answers that agree pass without a reward; the config's checks for reward phases. (The
 * benchmark `cascade-pipeline` runs the learned RouterBench cascade this way beside the decoding
 * strategy; these tests need no shared data.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../src/config/index.js';
import { OutcomeRecorder, runPipeline } from '../src/engine/index.js';
import { cascadePipeline } from '../src/eval/index.js';
import { createArbiter, type Arbiter } from '../src/index.js';
import type { CascadeRule, OutcomeReward } from '../src/reward/index.js';
import { sendCompletion, startUpstream } from './helpers.js';

const called: string[] = [];
let baseUrl: string;
let closeUpstream: () => Promise<void>;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream(({ model, messages }, _req, res) => {
    const prompt = (messages as Array<{ content: string }>).at(-1)!.content;
    called.push(model);
    if (model === 'cheap-broken') return void res.writeHead(500).end('{}');
    // cheap models answer "42" to easy prompts and something else to hard ones
    const content = model === 'strong' ? 'strong: 42' : prompt.startsWith('easy') ? `${model}: 42` : `${model}: 41`;
    sendCompletion(res, model, content, { prompt_tokens: 3, completion_tokens: 3 });
  }));
});
afterAll(() => closeUpstream());

/** Scores an answer 0.9 when it says 42, else 0.1. */
const byContent: OutcomeReward = {
  kind: 'head',
  name: 'by-content',
  score: async (_prompt, cands) => Float32Array.from(cands.map((c) => (c.content.endsWith('42') ? 0.9 : 0.1))),
} as OutcomeReward;

const rule = (stage: string[], tau: number | 'agree'): CascadeRule => ({ stage, tau, trainQuality: 0, trainCost: 0 });

async function setup(r: CascadeRule): Promise<{ x: Arbiter; go: (prompt: string) => ReturnType<typeof runPipeline> }> {
  const model = (id: string) => ({
    id,
    provider: { kind: 'openai', baseUrl, retries: 0 },
    cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
  });
  const cfg = validateConfig({
    models: ['cheap', 'thrifty', 'cheap-broken', 'strong'].map(model),
    pipelines: [cascadePipeline('cascade', r, 'strong', 'by-content')],
  });
  const x = await createArbiter(cfg);
  const pl = cfg.pipelines.find((p) => p.id === 'cascade')!;
  const go = (prompt: string) =>
    runPipeline(
      {
        router: x.router,
        upstreams: x.upstreams,
        cache: new Map(),
        rewards: new Map([['by-content', byContent]]),
        scoreContext: { task: 'math' }, // final answers compare as numbers
      },
      pl,
      { messages: [{ role: 'user', content: prompt }] },
      new OutcomeRecorder('pipeline', () => {}),
    );
  return { x, go };
}

describe('cheap generate → reward validate → escalate', () => {
  it('a good cheap answer passes (the strong model is not called); a bad one escalates', async () => {
    const { x, go } = await setup(rule(['cheap'], 0.5));
    called.length = 0;
    const easy = await go('easy: 6 * 7?');
    expect(easy.output).toBe('cheap: 42');
    expect(called).toEqual(['cheap']);
    expect(easy.phases.find((p) => p.name === 'check')).toMatchObject({
      verdict: 'pass',
      score: expect.closeTo(0.9, 5),
    });
    expect(easy.phases.find((p) => p.name === 'escalate')).toMatchObject({ status: 'skipped' });
    called.length = 0;
    const hard = await go('hard: 6 * 7?');
    expect(hard.output).toBe('strong: 42');
    expect(called).toEqual(['cheap', 'strong']);
    expect(hard.phases.find((p) => p.name === 'check')).toMatchObject({ verdict: 'fail' });
    await x.close();
  });

  it('a cheap stage that fails escalates; two cheap answers that agree pass without a reward', async () => {
    const broken = await setup(rule(['cheap-broken'], 0.5));
    expect((await broken.go('easy: q')).output).toBe('strong: 42');
    await broken.x.close();
    const agree = await setup(rule(['cheap', 'thrifty'], 'agree'));
    called.length = 0;
    const r = await agree.go('easy: What is 6 * 7?');
    expect(r.phases.find((p) => p.name === 'check')).toMatchObject({ verdict: 'pass' });
    expect(called.sort()).toEqual(['cheap', 'thrifty']);
    await agree.x.close();
  });

  it('a rule with no stage goes straight to the strongest model', async () => {
    const { x, go } = await setup({ stage: null, tau: 0, trainQuality: 0, trainCost: 0 });
    called.length = 0;
    expect((await go('easy: q')).output).toBe('strong: 42');
    expect(called).toEqual(['strong']);
    await x.close();
  });
});

describe('reward phase checks', () => {
  const check = (phases: unknown[]) => () =>
    validateConfig({
      models: [{ id: 'm', provider: { kind: 'rules' }, cost: { inputPer1k: 0, outputPer1k: 0 } }],
      pipelines: [{ id: 'p', phases }],
    });
  it('scores only phases that come before, has no model, and only reward phases have verdicts', () => {
    expect(
      check([
        { name: 'a', instructions: 'x' },
        { name: 'r', reward: { of: ['a'] } },
      ]),
    ).toThrow(/phases\[1\]\.reward\.of\[0\]: 'a' does not come before 'r'/);
    expect(
      check([
        { name: 'a', instructions: 'x' },
        { name: 'r', after: ['a'], model: 'm', reward: { of: ['a'] } },
      ]),
    ).toThrow(/phases\[1\]\.reward: a reward phase calls no model/);
    expect(
      check([
        { name: 'a', instructions: 'x' },
        { name: 'b', after: ['a'], instructions: 'y', when: { phase: 'a', verdict: 'pass' } },
      ]),
    ).toThrow(/phases\[1\]\.when\.verdict: 'a' is not a reward phase/);
    expect(check([{ name: 'a' }])).toThrow(/phases\[0\]\.instructions: a phase needs instructions/);
  });
});
