/**
 * Agent profiles and the matcher: a prompt's profile (named, by keyword, by task), one model or the
 * profile's pipeline by difficulty and budget, preferred models skipped while cooling down, the
 * requirements' strategy — each choice explained; then end to end, `agent` and `agent:<profile>`
 * through the engine with the offline rules model (no upstream).
 */
import { describe, expect, it } from 'vitest';

import { validateConfig } from '../src/config/index.js';
import { findProfile, matchAgent, requiredStrategy } from '../src/engine/matcher.js';
import { ErrorCodes } from '../src/errors.js';
import { createArbiter } from '../src/index.js';
import type { Decision } from '../src/router/index.js';

const rules = (id: string) => ({
  id,
  provider: { kind: 'rules' },
  cost: { inputPer1k: 0.001, outputPer1k: 0.002 },
});
const config = validateConfig({
  models: [rules('small'), rules('large')],
  profiles: [{ id: 'support', keywords: ['refund'], models: ['large', 'small'], requirements: { speed: 0.9 } }],
});

/** A decision as the router makes it, with the parts the matcher reads. */
const decision = (task: string, complexity: number, cost = 0.001, difficulty?: number) =>
  ({
    task: { label: task, confidence: 1, distribution: {}, source: 'keywords' },
    predicted: { quality: 0.8, qualityStderr: 0.1, cost, latencyMs: 100 },
    analysis: { complexity, ...(difficulty !== undefined ? { difficulty: { value: difficulty, byTask: {} } } : {}) },
  }) as unknown as Decision;

describe('finding the profile', () => {
  it('by name, then by keyword (whole words), then by task', () => {
    const p = config.profiles;
    expect(findProfile(p, 'anything', 'code', 'analysis')!.id).toBe('analysis');
    expect(findProfile(p, 'Write a SQL query joining orders', 'code')!.id).toBe('database');
    expect(findProfile(p, 'I want a refund!', 'conversation')!.id).toBe('support');
    expect(findProfile(p, 'refunds policy', 'knowledge')!.id).toBe('documentation'); // "refunds" is not "refund"
    expect(findProfile(p, 'reverse a list in Go', 'code')!.id).toBe('coding');
    expect(findProfile(p, 'hello', 'unknown-task')).toBeUndefined();
    expect(() => findProfile(p, 'x', 'code', 'nope')).toThrow(expect.objectContaining({ code: ErrorCodes.NOT_FOUND }));
  });
});

describe('single or multi', () => {
  const up = () => true;
  it('a hard prompt gets the pipeline, an easy one a single model by the requirements', () => {
    const hard = matchAgent(config, decision('math', 0.8), 'prove it', undefined, up);
    expect(hard).toMatchObject({ profile: 'analysis', mode: 'multi', target: 'pipeline:six-phase' });
    expect(hard.reason).toMatch(/complexity 0\.80.*multi-model, pipeline six-phase — complexity ≥ 0\.6/);
    const easy = matchAgent(config, decision('math', 0.3), '2+2', undefined, up);
    expect(easy).toMatchObject({ mode: 'single', target: 'auto:quality' });
    expect(easy.reason).toMatch(/complexity < 0\.6/);
    // the router's difficulty, when it has one, decides instead of the heuristic complexity
    expect(matchAgent(config, decision('math', 0.9, 0.001, 0.2), 'x', undefined, up).mode).toBe('single');
  });

  it('keeps to the budget, and prefers the profile models that are not cooling down', () => {
    const tight = validateConfig({
      models: [rules('small')],
      profiles: [{ id: 'analysis', tasks: ['math'], pipeline: 'six-phase', budgetUsd: 0.005, minComplexity: 0 }],
    });
    expect(matchAgent(tight, decision('math', 0.9, 0.0001), 'x', undefined, () => true).mode).toBe('multi');
    const over = matchAgent(tight, decision('math', 0.9, 0.01), 'x', undefined, () => true);
    expect(over.mode).toBe('single');
    expect(over.reason).toMatch(/est\. \$0\.090 > budget \$0\.005/); // 6 phases × 1.5 × $0.01
    const support = (available: (m: string) => boolean) =>
      matchAgent(config, decision('conversation', 0.1), 'refund please', undefined, available);
    expect(support(() => true).target).toBe('large');
    expect(support((m) => m !== 'large').target).toBe('small');
    expect(support(() => false).target).toBe('auto:latency');
  });

  it('the requirements choose the strategy', () => {
    expect(requiredStrategy({ accuracy: 0.5, speed: 0.8, creativity: 0.5 })).toBe('latency');
    expect(requiredStrategy({ accuracy: 0.9, speed: 0.8, creativity: 0.5 })).toBe('quality');
    expect(requiredStrategy({ accuracy: 0.5, speed: 0.5, creativity: 0.9 })).toBe('balanced');
  });

  it('refuses profiles naming unknown pipelines or models, by key path', () => {
    expect(() =>
      validateConfig({ models: [rules('small')], profiles: [{ id: 'x', pipeline: 'nope', models: ['gpt'] }] }),
    ).toThrow(/profiles\[0\]\.models\[0\]: 'gpt'[\s\S]*profiles\[0\]\.pipeline: 'nope'/);
  });
});

describe('agent requests through the engine', () => {
  it('agent and agent:<profile> run what the matcher chose and say why', async () => {
    const x = await createArbiter({ models: [rules('small'), rules('large')] });
    const ask = (model: string, content: string) =>
      x.complete({ model, stream: false, messages: [{ role: 'user', content }] });
    const multi = await ask('agent:analysis', 'What is 17 * 23? Think it through step by step and check the result.');
    expect(multi.reason).toMatch(/^agent analysis \(task [a-z]+, complexity [0-9.]+\): /);
    if (multi.reason.includes('multi-model')) expect(multi.model).toBe('pipeline:six-phase');
    else expect(['small', 'large']).toContain(multi.model);
    const forced = validateConfig({
      models: [rules('small')],
      profiles: [{ id: 'deep', pipeline: 'critique-revise', minComplexity: 0 }],
    });
    const y = await createArbiter(forced);
    const r = await y.complete({ model: 'agent:deep', stream: false, messages: [{ role: 'user', content: 'hello' }] });
    expect(r.model).toBe('pipeline:critique-revise');
    expect(r.reason).toMatch(/multi-model, pipeline critique-revise/);
    const bad = await y
      .complete({ model: 'agent:nope', stream: false, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e);
    expect(bad.code).toBe(ErrorCodes.NOT_FOUND);
    await x.close();
    await y.close();
  });
});
