/**
 * POST /v1/compare: one prompt, every named model's answer side by side — each scored (assertions,
 * a reference, a reward), with latency, tokens and cost; a model that fails is reported with its
 * error code and the others still answer. Client role; nothing is rated (a comparison over HTTP
 * teaches nothing until a run's results are rated by id).
 */
import type { FastifyInstance } from 'fastify';

import { checkAssertion, checkModels, runComparison, type CompareCase } from '../../compare/index.js';
import type { EngineHost } from '../host.js';

const compareSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt', 'models'],
  properties: {
    prompt: { type: 'string', minLength: 1, maxLength: 200_000 },
    models: { type: 'array', minItems: 2, maxItems: 10, items: { type: 'string', minLength: 1, maxLength: 200 } },
    task: { type: 'string', maxLength: 64 },
    reference: { type: 'string', maxLength: 20_000 },
    assert: { type: 'array', maxItems: 32, items: { type: 'object' } },
    reward: { type: 'string', minLength: 1, maxLength: 64 },
    max_tokens: { type: 'integer', minimum: 1, maximum: 100_000 },
    timeout_ms: { type: 'integer', minimum: 100, maximum: 600_000 },
  },
} as const;

interface Body {
  prompt: string;
  models: string[];
  task?: string;
  reference?: string;
  assert?: unknown[];
  reward?: string;
  max_tokens?: number;
  timeout_ms?: number;
}

export function compareRoutes(app: FastifyInstance, host: EngineHost): void {
  app.post('/v1/compare', { onRequest: app.requireRole('client'), schema: { body: compareSchema } }, async (req) => {
    const b = req.body as Body;
    const engine = host.current;
    const models = checkModels(b.models, engine.router.registry.ids());
    const c: CompareCase = {
      id: '1',
      prompt: b.prompt,
      ...(b.task ? { task: b.task } : {}),
      ...(b.reference !== undefined ? { reference: b.reference } : {}),
      ...(b.assert ? { assert: b.assert.map((a, i) => checkAssertion(a, `assert[${i}]`)) } : {}),
    };
    const answers = new Map<string, string>();
    const results = await runComparison(engine, [c], {
      models,
      concurrency: models.length,
      retries: 0,
      timeoutMs: b.timeout_ms ?? 60_000,
      ...(b.max_tokens ? { maxTokens: b.max_tokens } : {}),
      ...(b.reward ? { reward: b.reward } : {}),
      keepOutputs: answers,
    });
    return {
      prompt: b.prompt,
      results: models.map((m) => {
        const { case: _c, ...r } = results.find((x) => x.model === m)!;
        return { ...r, output: answers.get(m) ?? null };
      }),
    };
  });
}
