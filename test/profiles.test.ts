/**
 * Per-model profiles: the weighted mean rating flags a quality drop (checked by simulation), the
 * latency model recovers a + b · tokens, and measured latency replaces the configured prior in
 * routing — also after a restart, rebuilt from the store.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StaticEmbedder } from '../src/embed/index.js';
import { createArbiter } from '../src/index.js';
import { defaultModelDir } from '../src/paths.js';
import { Profiles } from '../src/store/index.js';
import { availableBackends, Random, SEED, sendCompletion, startUpstream } from './helpers.js';

describe('profiles', () => {
  it('a 10-point quality drop is flagged (the interval excludes the old mean) within 200 ratings: simulation', () => {
    const r = new Random(SEED);
    const delays: number[] = [];
    let preFlags = 0;
    let preLooks = 0;
    for (let trial = 0; trial < 40; trial++) {
      const p = new Profiles({ minCalls: 20, halfLife: 100 });
      for (let i = 0; i < 400; i++) {
        p.rate('m', 'code', r.uniform() < 0.8 ? 1 : 0);
        if (i >= 200) {
          preLooks++;
          if (p.quality('m', 'code')!.high < 0.8) preFlags++;
        }
      }
      let k = 0;
      while (k < 1000) {
        p.rate('m', 'code', r.uniform() < 0.7 ? 1 : 0);
        k++;
        if (p.quality('m', 'code')!.high < 0.8) break;
      }
      delays.push(k);
    }
    delays.sort((a, b) => a - b);
    const median = delays[delays.length >> 1]!;
    expect(median, `seed ${SEED}, delays ${delays.join(',')}`).toBeLessThanOrEqual(200);
    // before the drop, the 95% interval excludes the true mean at about 5% of looks
    expect(preFlags / preLooks, `seed ${SEED}`).toBeLessThan(0.1);
  });

  it('the latency model recovers first-token time and speed from calls of different lengths', () => {
    const r = new Random(SEED);
    const p = new Profiles({ minCalls: 20, halfLife: 100 });
    const calls = Array.from({ length: 200 }, () => {
      const tokens = 20 + r.int(0, 400);
      return {
        model: 'm',
        attempt: 1,
        status: 'ok' as const,
        latencyMs: 150 + 8 * tokens + (r.uniform() - 0.5) * 10,
        promptTokens: 10,
        completionTokens: tokens,
        cost: 0,
      };
    });
    p.observe({ calls: calls.slice(0, 10) });
    expect(p.latency('m')).toBeUndefined(); // not enough calls yet
    p.observe({ calls: calls.slice(10) });
    const l = p.latency('m')!;
    expect(Math.abs(l.firstTokenMs - 150)).toBeLessThan(5);
    expect(Math.abs(l.tokensPerSec - 125)).toBeLessThan(2);
  });
});

// an upstream where `slow` takes 150 ms and `fast` answers at once
let baseUrl: string;
let closeUpstream: () => Promise<void>;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream(({ model }, _req, res) => {
    const send = () => sendCompletion(res, model, 'ok', { prompt_tokens: 5, completion_tokens: 20 });
    if (model === 'slow') setTimeout(send, 150);
    else send();
  }));
});
afterAll(() => closeUpstream());

describe('measured latency in routing', () => {
  it('replaces the prior once a model has enough calls, and survives a restart', async () => {
    const backend = availableBackends()[0]!;
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-profiles-'));
    // the config claims `slow` is the fastest: its prior is wrong
    const model = (id: string, firstTokenMs: number) => ({
      id,
      provider: { kind: 'openai', baseUrl, retries: 0 },
      cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
      latency: { firstTokenMs, tokensPerSec: 1000 },
    });
    const cfg = {
      models: [model('slow', 5), model('fast', 50)],
      routing: { strategy: 'latency' },
      store: { url: `sqlite:${join(dir, 'p.db')}`, flushMs: 20, profiles: { minCalls: 5 } },
    };
    const a = await createArbiter(cfg, { backend, embedder });
    expect((await a.route('hello')).model).toBe('slow');
    for (let i = 0; i < 6; i++)
      await a.complete({ model: 'slow', messages: [{ role: 'user', content: `hello ${i}` }] });
    for (let i = 0; i < 6; i++)
      await a.complete({ model: 'fast', messages: [{ role: 'user', content: `hello ${i}` }] });
    const d = await a.route('hello');
    expect(d.model).toBe('fast');
    expect(d.alternatives.find((c) => c.model === 'slow')!.latencyMs).toBeGreaterThan(100);
    // cost follows the measured tokens: 20 completion tokens a call (not the task default), and the
    // upstream's prompt count per estimated token — so a long prompt costs more than a short one
    const fast = (x: typeof d) => x.alternatives.find((c) => c.model === 'fast')!;
    expect(fast(d).outputTokens).toBe(20);
    expect(fast(d).cost).toBeCloseTo(((fast(d).inputTokens + 20) * 0.001) / 1000, 12);
    const long = await a.route(`hello ${'and tell me more about the weather today '.repeat(40)}`);
    expect(fast(long).inputTokens).toBeGreaterThan(10 * fast(d).inputTokens);
    expect(fast(long).cost).toBeGreaterThan(fast(d).cost);
    await a.close();
    const b = await createArbiter(cfg, { backend, embedder }); // profiles rebuilt from the store
    expect((await b.route('hello')).model).toBe('fast');
    const stats = await b.stats({});
    expect(stats.profiles.find((p) => p.model === 'slow')!.latency!.p50).toBeGreaterThan(100);
    await b.close();
  });
});
