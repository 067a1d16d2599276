/**
 * Hostile inputs at the library level: fp16 tables with NaN or infinity bit patterns, a cascade
 * whose later stage fails after an earlier one answered, credentials in upstream or config error
 * text, names Object.prototype has, and prompts that made the analysis quadratic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { analyze, analyzeNative, DEFAULT_RULES } from '../../src/analyze/index.js';

import { parseConfig } from '../../src/config/index.js';
import { cascade, type Generate } from '../../src/decoding/index.js';
import { ArbiterError, ErrorCodes } from '../../src/errors.js';
import { isTaskName, RESERVED_NAMES } from '../../src/names.js';
import { ModelGate } from '../../src/providers/index.js';
import { VerifierReward } from '../../src/reward/index.js';
import { redactSecrets } from '../../src/text.js';
import { availableBackends, Random, SEED } from '../helpers.js';

describe('hostile library inputs', () => {
  it('fp16 tables holding NaN or infinity bit patterns are refused on every backend', async () => {
    const r = new Random(SEED);
    for (const b of availableBackends()) {
      for (const bad of [0x7e00, 0x7c00, 0xfc00, 0x7c01]) {
        const data = Uint16Array.from({ length: 32 * 8 }, () => 0x3c00 + r.int(0, 64)); // finite values near 1
        const at = r.int(0, data.length);
        data[at] = bad;
        await expect(
          b.embedPool({ data, vocab: 32, dim: 8 }, Int32Array.of(1, 2), Int32Array.of(0, 2)),
          `${b.name} 0x${bad.toString(16)}`,
        ).rejects.toMatchObject({
          code: ErrorCodes.NOT_FINITE,
          message: expect.stringContaining(`[${at}]`),
        });
      }
    }
  });

  it('a cascade whose later stage fails keeps the earlier answer and notes the failure', async () => {
    const gen: Generate = async (model, _req, _signal) => {
      if (model === 'broken') throw new Error('boom');
      return { model, content: 'The answer is 42.', finishReason: 'stop', cost: 0.001, tokens: 10 };
    };
    const r = await cascade(
      gen,
      { messages: [{ role: 'user', content: 'What is 6 * 7?' }] },
      { stages: [['cheap'], ['broken']], reward: new VerifierReward(), threshold: 1.01 },
    );
    expect(r.model).toBe('cheap');
    expect(r.content).toBe('The answer is 42.');
    expect(r.failures).toEqual([{ model: 'broken', code: 'unknown' }]);
    // with nothing answered, the failure is the result
    await expect(
      cascade(
        gen,
        { messages: [{ role: 'user', content: 'x' }] },
        { stages: [['broken']], reward: new VerifierReward() },
      ),
    ).rejects.toThrow('boom');
  });

  it('credentials are masked in upstream and config error text', () => {
    const text = redactSecrets(
      'invalid key in header Authorization: Bearer sk-live-0123456789abcdef, api_key="abcd1234efgh" and my-own-literal-secret',
      ['my-own-literal-secret'],
    );
    expect(text).not.toMatch(/0123456789abcdef|abcd1234efgh|my-own-literal-secret/);
    expect(text).toContain('[redacted]');
    const pasted = 'sk-proj-ABCDEF0123456789abcdef';
    const yaml = `models:\n  - id: m\n    provider: { kind: openai, baseUrl: http://127.0.0.1:1/v1, apiKeyEnv: ${pasted} }\n    cost: { inputPer1k: 1, outputPer1k: 1 }\n`;
    let message = '';
    try {
      parseConfig(yaml, 'c.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('apiKeyEnv');
    expect(message).not.toContain('ABCDEF0123456789');
  });

  it('task names Object.prototype has are not task names', () => {
    expect(RESERVED_NAMES).toEqual(['constructor']); // the schemas' literal list (config/schema.ts, config/requests.ts) must match
    for (const n of ['constructor', '__proto__', 'toString', 'Math', '', '1x']) expect(isTaskName(n), n).toBe(false);
    for (const n of ['math', 'code', 'proto', 'constructors']) expect(isTaskName(n), n).toBe(true);
    expect(() =>
      parseConfig(
        'models:\n  - id: m\n    provider: { kind: replay, data: x.csv }\n    cost: { inputPer1k: 1, outputPer1k: 1 }\n    strengths: { constructor: 0.5 }\n',
        'c.yaml',
      ),
    ).toThrow(/constructor/);
  });

  it('a gate reconfigured by a reload keeps its breaker, in-flight calls and minute window', async () => {
    let now = 0;
    const g = new ModelGate('m', {
      maxConcurrent: 1,
      retries: 0,
      failureThreshold: 1,
      cooldownMs: 1000,
      requestsPerMinute: 5,
      now: () => now,
    });
    await expect(
      g.run(async () => {
        throw new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'down', { status: 500 });
      }),
    ).rejects.toMatchObject({ code: ErrorCodes.UPSTREAM_ERROR });
    expect(g.breaker()).toBe('open');
    g.reconfigure({ maxConcurrent: 2, retries: 0, failureThreshold: 1, cooldownMs: 1000 });
    expect(g.breaker()).toBe('open');
    now = 2000;
    expect(g.breaker()).toBe('half-open');
  });

  // a run of digits tried the money-units pattern from each of its digits, each trying the rest of
  // the run (100,000 digits: 4.3 s in JavaScript, 1.4 s natively, growing with the square); a run
  // of blank lines scanned the rest of the run for a code fence from each line (natively)
  it('prompts of a million digits or blank lines are analysed in one pass, by both analyzers', () => {
    for (const text of [
      '7'.repeat(1_000_000),
      '\n'.repeat(1_000_000),
      `${'1'.repeat(500_000)} kg`,
      `${'\n'.repeat(500_000)}\`\`\`js`,
    ]) {
      const js = analyze(text); // (the test's timeout is the bound: quadratic, these took minutes)
      const native = analyzeNative([text]);
      if (native) expect(native[0]).toEqual(js);
    }
  }, 20_000);

  it('the money-units pattern counts what the quadratic one counted', () => {
    const old = /\$\d|\d+\s*(dollars|cents|km|kg|hours|minutes|apples|eggs)\b/gi;
    const now = DEFAULT_RULES.math!.patterns.find(([re]) => re.source.includes('dollars'))![0];
    expect(now.source).not.toBe(old.source);
    const piece = fc.constantFrom('$', '1', '23', ' ', 'kg', 'km', ' dollars', 'Eggs', 'x', '\n', '$7');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (parts) => {
        const text = parts.join('');
        expect([...text.matchAll(now)].map((m) => [m.index, m[0]])).toEqual(
          [...text.matchAll(old)].map((m) => [m.index, m[0]]),
        );
      }),
      { numRuns: 3000, seed: SEED },
    );
    for (const text of ['$12 dollars', '1$23 kg', '$5$6 eggs', '99 apples 100 eggs', '$1234', '12345 km and 6 kg'])
      expect(text.match(now)).toEqual(text.match(old));
  });
});
