/**
 * Drift: ratings against predictions move a model's predicted quality (checked by simulation
 * against the exponentially weighted mean it stands for), so a model that got worse loses its
 * traffic — also after a restart, rebuilt from the stored ratings; and exploration
 * (routing.explore) chooses on a draw while reporting the prediction.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StaticEmbedder } from '../src/embed/index.js';
import { createArbiter } from '../src/index.js';
import { defaultModelDir } from '../src/paths.js';
import { Drift } from '../src/router/drift.js';
import { availableBackends, Random, SEED, sendCompletion, startUpstream } from './helpers.js';

describe('drift corrections', () => {
  it('track the weighted mean of (rating − uncorrected prediction): simulation, 200 trials', () => {
    const r = new Random(SEED);
    const base = 0.55 + 0.3 * r.uniform(); // the router's prediction without the correction
    const truth = base - 0.1 - 0.1 * r.uniform(); // what the model now earns
    const halfLife = 40;
    const finals: number[] = [];
    const early: number[] = [];
    for (let trial = 0; trial < 200; trial++) {
      const d = new Drift({ halfLife, priorRatings: 10 });
      for (let i = 0; i < 400; i++) {
        const predicted = base + d.correction('m', { code: 1 }); // what the router said at the time
        d.observe('m', 'code', r.uniform() < truth ? 1 : 0, predicted);
        if (i === 4) early.push(d.correction('m', { code: 1 }));
      }
      finals.push(d.correction('m', { code: 1 }));
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    // after 10 half-lives the correction is unbiased: the residual's mean, truth − base (±0.01:
    // the mean of 200 trials, each with sd ≈ 0.06)
    expect(Math.abs(mean(finals) - (truth - base)), `seed ${SEED}`).toBeLessThan(0.015);
    // one-sided noise is damped at the start: after 5 ratings the shrunk mean is 5/15 of the residual's
    expect(Math.abs(mean(early) - ((truth - base) * 5) / 15), `seed ${SEED}`).toBeLessThan(0.04);
    // the spread matches an exponentially weighted mean's: sd ≈ sqrt(p(1−p) · α / (2 − α))
    const alpha = 1 - 2 ** (-1 / halfLife);
    const sd = Math.sqrt(mean(finals.map((x) => (x - mean(finals)) ** 2)));
    const expected = Math.sqrt((truth * (1 - truth) * alpha) / (2 - alpha));
    expect(sd / expected, `seed ${SEED}`).toBeGreaterThan(0.8);
    expect(sd / expected, `seed ${SEED}`).toBeLessThan(1.25);
  });

  it('weights corrections by the task distribution and ignores non-finite input', () => {
    const d = new Drift({ halfLife: 10, priorRatings: 0 });
    d.observe('m', 'code', 0.2, 0.8); // first rating: η = 1, c = −0.6
    d.observe('m', 'math', 1, 0.6); // c = 0.4
    d.observe('m', 'math', Number.NaN, 0.6);
    expect(d.correction('m', { code: 0.5, math: 0.25, chat: 0.25 })).toBeCloseTo(-0.3 + 0.1, 12);
    expect(d.correction('other', { code: 1 })).toBe(0);
    expect(d.snapshot().m!.math).toEqual({ correction: expect.closeTo(0.4, 12), ratings: 1 });
  });
});

let baseUrl: string;
let closeUpstream: () => Promise<void>;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream(({ model }, _req, res) => {
    sendCompletion(res, model, 'ok', { prompt_tokens: 5, completion_tokens: 20 });
  }));
});
afterAll(() => closeUpstream());

const backend = availableBackends()[0]!;
const model = (id: string, q: number) => ({
  id,
  provider: { kind: 'openai', baseUrl, retries: 0 },
  cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
  strengths: { general: q },
});

describe('the learning loop in routing', () => {
  it('a model rated below its prediction loses the traffic, and stays corrected after a restart', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-drift-'));
    const cfg = {
      models: [model('a', 0.85), model('b', 0.8)],
      routing: { strategy: 'quality', drift: { halfLife: 20, priorRatings: 5 } },
      store: { url: `sqlite:${join(dir, 'd.db')}`, flushMs: 20, prompts: 'none' },
    };
    const x = await createArbiter(cfg, { backend, embedder });
    const ask = (i: number) =>
      x.complete({ model: 'auto', messages: [{ role: 'user', content: `Write a sorting function, variant ${i}.` }] });
    expect((await ask(0)).model).toBe('a');
    // a's answers are rated 0.6 where it was predicted 0.85
    let i = 1;
    for (; i < 60; i++) {
      const r = await ask(i);
      if (r.model !== 'a') break;
      await x.rate(r.id, { score: 0.6, source: 'test' });
    }
    expect(i, 'a lost the traffic').toBeLessThan(60);
    const after = await x.route('Write a sorting function, variant 99.');
    expect(after.model).toBe('b');
    const corr = (await x.stats({})).drift.a!;
    expect(Math.min(...Object.values(corr).map((c) => c.correction))).toBeLessThan(0);
    await x.close();
    const y = await createArbiter(cfg, { backend, embedder }); // rebuilt from the stored ratings
    const again = await y.route('Write a sorting function, variant 99.');
    expect(again.model).toBe('b');
    const qa = (d: typeof after) => d.alternatives.find((c) => c.model === 'a')!.quality;
    expect(qa(again)).toBeCloseTo(qa(after), 9);
    await y.close();
  });

  it('routing.explore chooses on a draw but reports the prediction; 0 keeps every decision the same', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const make = (explore: number) =>
      createArbiter(
        { models: [model('a', 0.8), model('b', 0.78)], routing: { strategy: 'quality', explore } },
        { backend, embedder },
      );
    const fixed = await make(0);
    const prompt = 'Explain how a hash map works.';
    const plain = await fixed.route(prompt);
    const picks = new Set<string>();
    for (let i = 0; i < 40; i++) picks.add((await fixed.route(prompt)).model);
    expect([...picks]).toEqual([plain.model]);
    const exploring = await make(1);
    const seen = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const d = await exploring.route(prompt);
      seen.set(d.model, (seen.get(d.model) ?? 0) + 1);
      expect(d.reason).toMatch(/exploring/);
      // the decision carries the prediction, not the draw
      for (const c of d.alternatives)
        expect(c.quality).toBeCloseTo(plain.alternatives.find((p) => p.model === c.model)!.quality, 12);
    }
    // two models 0.02 apart with stderr ≈ 0.1: each wins a fair share of the draws
    expect(seen.get('a')! / 200).toBeGreaterThan(0.3);
    expect(seen.get('b')! / 200).toBeGreaterThan(0.2);
    await fixed.close();
    await exploring.close();
  });
});
