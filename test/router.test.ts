// The router end to end with the default embedder: strategies, quality target, constraints,
// load awareness, manifold-driven predictions, feedback for a new model, and bad options.
import { describe, expect, it } from 'vitest';

import { createRouter, ErrorCodes } from '../src/index.js';
import { TYPICAL_PROMPT_TOKENS } from '../src/router/predict.js';
import { defaultModelDir } from '../src/paths.js';
import { availableBackends } from './helpers.js';
import { Manifold } from '../src/manifold/index.js';
import { StaticEmbedder } from '../src/embed/index.js';

const backend = availableBackends()[0]!;
const provider = (port: number) => ({ kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` });
const config = {
  models: [
    {
      id: 'cheap',
      provider: provider(9001),
      cost: { inputPer1k: 0.0001, outputPer1k: 0.0002 },
      contextTokens: 4096,
      maxConcurrent: 2,
      latency: { firstTokenMs: 100, tokensPerSec: 200 },
      strengths: { code: 0.5, math: 0.3, conversation: 0.8 },
    },
    {
      id: 'mid',
      provider: provider(9002),
      cost: { inputPer1k: 0.001, outputPer1k: 0.002 },
      contextTokens: 32768,
      maxConcurrent: 2,
      latency: { firstTokenMs: 300, tokensPerSec: 80 },
      strengths: { code: 0.8, math: 0.6, conversation: 0.8 },
    },
    {
      id: 'best',
      provider: provider(9003),
      cost: { inputPer1k: 0.01, outputPer1k: 0.03 },
      contextTokens: 131072,
      maxConcurrent: 2,
      latency: { firstTokenMs: 800, tokensPerSec: 30 },
      strengths: { code: 0.9, math: 0.9, conversation: 0.85 },
    },
  ],
  routing: { strategy: 'balanced' },
};
const code = 'Write a python function that merges two sorted lists.';

async function router(parts = {}) {
  return createRouter(config, { backend, ...parts });
}

describe('Router', () => {
  it('applies each strategy to the same predictions', async () => {
    const r = await router();
    expect((await r.route(code, { strategy: 'quality' })).model).toBe('best');
    expect((await r.route(code, { strategy: 'cost' })).model).toBe('cheap');
    expect((await r.route(code, { strategy: 'latency' })).model).toBe('cheap');
    expect((await r.route(code, { strategy: 'custom', weights: { quality: 1, cost: 0, latency: 0 } })).model).toBe(
      'best',
    );
    const d = await r.route(code, { strategy: 'custom', weights: { quality: 1, cost: 0.05, latency: 0.05 } });
    expect(d.alternatives.map((a) => a.model)).toHaveLength(3);
    expect(d.alternatives[0]!.model).toBe(d.model);
    expect(d.alternatives.map((a) => a.score)).toEqual([...d.alternatives.map((a) => a.score)].sort((x, y) => y - x));
    expect(d.fallbacks).not.toContain(d.model);
    expect(d.task.label).toBe('code');
    expect(d.reason).toMatch(
      /^custom: \S+ \(quality 0\.\d\d±0\.\d\d from prior, \$[\d.e-]+, [\d.]+ s\) for a code prompt/,
    );
  });

  it('quality-target mode picks the cheapest model predicted to reach the target, else the best', async () => {
    const r = await router();
    expect((await r.route(code, { qualityTarget: 0.7 })).model).toBe('mid');
    const none = await r.route(code, { qualityTarget: 0.99 });
    expect(none.model).toBe('best');
    expect(none.strategy).toBe('quality-target');
    expect(none.reason).toContain('none predicted to reach 0.99');
  });

  it('constraints exclude models with the reason; nothing eligible is a typed error', async () => {
    const r = await router();
    const d = await r.route(code, { strategy: 'quality', constraints: { maxCost: 0.005, deny: ['cheap'] } });
    expect(d.model).toBe('mid');
    expect(d.alternatives.find((a) => a.model === 'best')!.excluded).toMatch(/^cost .* > max 0\.005$/);
    expect(d.alternatives.find((a) => a.model === 'cheap')!.excluded).toBe('in deny list');
    expect(d.alternatives.slice(-2).every((a) => !a.eligible)).toBe(true);
    const long = `${'word '.repeat(20000)}?`;
    expect((await r.route(long, { strategy: 'cost' })).model).toBe('mid'); // cheap's 4k context is too small
    await expect(r.route(code, { constraints: { allow: ['cheap'], minQuality: 0.95 } })).rejects.toMatchObject({
      code: ErrorCodes.NO_ELIGIBLE_MODEL,
    });
    await expect(r.route(code, { constraints: { allow: ['nope'] } })).rejects.toMatchObject({
      code: ErrorCodes.NOT_FOUND,
    });
  });

  it('routes around a model at its concurrency cap, and back once it frees up', async () => {
    const r = await router();
    const release = [r.load.acquire('best'), r.load.acquire('best')];
    const d = await r.route(code, { strategy: 'quality' });
    expect(d.model).toBe('mid');
    expect(d.reason).toContain('best is at its concurrency cap');
    expect(d.alternatives.find((a) => a.model === 'best')!.saturated).toBe(true);
    release.forEach((f) => f());
    expect((await r.route(code, { strategy: 'quality' })).model).toBe('best');
  });

  it('queues on the best when every eligible model is at its cap, and notes a cap under a quality target', async () => {
    const r = await router();
    const held = ['cheap', 'mid', 'best'].flatMap((m) => [r.load.acquire(m), r.load.acquire(m)]);
    const all = await r.route(code, { strategy: 'quality', constraints: { deny: ['cheap'] } });
    expect(all.model).toBe('best');
    expect(all.reason).toContain('every eligible model is at its concurrency cap: queued on the best');
    expect(all.alternatives.map((a) => [a.model, a.eligible])).toEqual([
      ['best', true],
      ['mid', true],
      ['cheap', false],
    ]);
    held.forEach((f) => f());
    const midHeld = [r.load.acquire('mid'), r.load.acquire('mid')];
    const t = await r.route(code, { qualityTarget: 0.7 });
    expect(t.strategy).toBe('quality-target');
    expect(t.model).not.toBe('mid');
    expect(t.reason).toContain('cheapest predicted to reach 0.7; mid is at its concurrency cap');
    midHeld.forEach((f) => f());
  });

  it('predicts from the manifold where there are outcomes, and learns a new model from feedback', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const manifold = new Manifold(backend, { dim: embedder.dim });
    const prompts = [
      'Write a python function to reverse a string.',
      'Write a python function to sum a list.',
      'Write a python function that sorts a dictionary by value.',
      'Write a python function to count vowels.',
      'Write a python function to find the maximum of a list.',
      'Write a python function that removes duplicates from a list.',
      'Write a python function to merge two dictionaries.',
      'Write a python function that checks for palindromes.',
    ];
    const emb = await embedder.embed(prompts);
    await manifold.add(
      prompts.map((_, i) => ({
        embedding: emb.slice(i * embedder.dim, (i + 1) * embedder.dim),
        task: 'code',
        outcomes: { cheap: 1, mid: 1, best: 0 },
      })),
    );
    const r = await createRouter(config, { backend, embedder, manifold, k: 8 });
    const d = await r.route(code, { strategy: 'quality' });
    expect(d.task.source).toBe('manifold+keywords');
    const best = d.alternatives.find((a) => a.model === 'best')!;
    expect(best.qualitySource).toMatch(/^manifold/);
    expect(best.quality).toBeLessThan(0.5); // its outcomes here pull it below its 0.9 prior
    expect(['cheap', 'mid']).toContain(d.model);
    // a model added to the config later learns from feedback
    const r2 = await createRouter(
      {
        ...config,
        models: [
          ...config.models,
          { id: 'newbie', provider: provider(9004), cost: { inputPer1k: 0.0001, outputPer1k: 0.0001 } },
        ],
      },
      { backend, embedder, manifold, k: 8 },
    );
    const before = (await r2.route(code)).alternatives.find((a) => a.model === 'newbie')!;
    expect(before.qualitySource).toBe('prior');
    for (const p of prompts) await r2.feedback({ prompt: p, model: 'newbie', quality: 1 });
    const after = (await r2.route(code)).alternatives.find((a) => a.model === 'newbie')!;
    expect(after.qualitySource).not.toBe('prior');
    expect(after.quality).toBeGreaterThan(before.quality);
  });

  it('routes batches, and refuses bad options with typed errors', async () => {
    const r = await router();
    const ds = await r.routeBatch([code, 'hello!', 'Solve 2x + 3 = 11.']);
    expect(ds.map((d) => d.task.label)).toEqual(['code', 'conversation', 'math']);
    expect(await r.routeBatch([])).toEqual([]);
    // routeEach: the same decisions, one at a time, in order
    const each: Array<[string, number]> = [];
    await r.routeEach([code, 'hello!', 'Solve 2x + 3 = 11.'], undefined, (d, i) => each.push([d.task.label, i]));
    expect(each).toEqual([
      ['code', 0],
      ['conversation', 1],
      ['math', 2],
    ]);
    await expect(r.routeEach([code], { strategy: 'fastest' } as never, () => undefined)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
    });
    const bad = (o: unknown, param: string) =>
      expect(r.route(code, o as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, param });
    await bad({ strategy: 'fastest' }, 'options.strategy');
    await bad({ qualityTarget: 2 }, 'options.qualityTarget');
    await bad({ maxTokens: 0 }, 'options.maxTokens');
    await bad({ weights: { quality: -1, cost: 0, latency: 0 } }, 'options.weights');
    await bad({ constraints: { maxCost: 'cheap' } }, 'options.constraints.maxCost');
    await bad({ constraints: { allow: 'cheap' } }, 'options.constraints.allow');
    await bad([], 'options');
    await expect(r.routeBatch('x' as never)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
      param: 'prompts',
    });
    await expect(r.feedback({ prompt: code, model: 'ghost', quality: 1 })).rejects.toMatchObject({
      code: ErrorCodes.NOT_FOUND,
    });
    await expect(createRouter({ models: [] }, { backend })).rejects.toMatchObject({ code: ErrorCodes.INVALID_CONFIG });
  });
});

describe('a trained router model and the config', () => {
  const model = (id: string) => ({
    id,
    provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
    cost: { inputPer1k: 0.001, outputPer1k: 0.002 },
  });
  const routerbench = new URL('../models/routerbench', import.meta.url).pathname;

  it('refuses a config none of whose models the router model knows; routing.modelMap maps them', async () => {
    const backend = availableBackends()[0]!;
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    await expect(
      createRouter({ models: [model('big'), model('small')], routing: { model: routerbench } }, { backend, embedder }),
    ).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
      param: 'routing.model',
      message: expect.stringMatching(/modelMap/),
    });
    const r = await createRouter(
      {
        models: [model('big'), model('small')],
        routing: { model: routerbench, modelMap: { big: 'gpt-4-1106-preview', small: 'mistralai/mistral-7b-chat' } },
      },
      { backend, embedder },
    );
    // a prompt like its training ones (a solve-for-x one is unlike them: it would route on the priors)
    const d = await r.route('Write a python function to find the first repeated character in a given string.');
    for (const c of d.alternatives) expect(c.qualitySource, c.model).not.toBe('prior'); // the trained outcomes reach both
    expect(r.manifold.modelIds).toEqual(expect.arrayContaining(['big', 'small']));
    r.close();
    await expect(
      createRouter(
        { models: [model('big')], routing: { model: routerbench, modelMap: { big: 'no-such-model' } } },
        { backend, embedder },
      ),
    ).rejects.toMatchObject({ code: ErrorCodes.INVALID_CONFIG, param: 'routing.modelMap.big' });
  });
});

describe('cost follows length', () => {
  it('with a trained cost table, a 200 KB prompt costs what its tokens do, not the table mean', async () => {
    const backend = availableBackends()[0]!;
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const r = await createRouter(
      {
        models: [
          {
            id: 'gpt-4-1106-preview',
            provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
            cost: { inputPer1k: 0.01, outputPer1k: 0.03 },
            contextTokens: 200_000,
          },
        ],
        routing: { model: new URL('../models/routerbench', import.meta.url).pathname },
      },
      { backend, embedder },
    );
    const short = (await r.route('What is the capital of France?')).alternatives[0]!;
    const long = (await r.route(`Summarise this: ${'the quick brown fox jumps over the lazy dog. '.repeat(4600)}`))
      .alternatives[0]!;
    expect(long.inputTokens).toBeGreaterThan(40_000);
    // the table's typical cost plus the input tokens past a typical prompt's, at the price
    const table = long.cost - ((long.inputTokens - TYPICAL_PROMPT_TOKENS) / 1000) * 0.01;
    expect(table).toBeGreaterThan(0);
    expect(table).toBeLessThan(3 * short.cost); // a mean cost of a call under this prompt's tasks
    expect(long.cost / short.cost).toBeGreaterThan(20); // the table said the same for both before
    r.close();
  });
});
