/**
 * JSON Schemas of the request bodies (Fastify validates them with ajv before a handler runs):
 * unknown keys are errors, and sizes are bounded so no request can make unbounded work.
 */
import { DECODE_STRATEGIES } from '../engine/index.js';

const message = {
  type: 'object',
  additionalProperties: false,
  required: ['role', 'content'],
  properties: {
    role: { enum: ['system', 'user', 'assistant', 'tool', 'developer'] },
    content: { type: 'string', maxLength: 1_000_000 },
    name: { type: 'string', maxLength: 256 },
  },
} as const;

const routeOptions = {
  type: 'object',
  additionalProperties: false,
  properties: {
    strategy: { enum: ['quality', 'cost', 'latency', 'balanced', 'custom'] },
    weights: {
      type: 'object',
      additionalProperties: false,
      required: ['quality', 'cost', 'latency'],
      properties: { quality: { type: 'number', minimum: 0 }, cost: { type: 'number', minimum: 0 }, latency: { type: 'number', minimum: 0 } },
    },
    qualityTarget: { type: 'number', minimum: 0, maximum: 1 },
    maxTokens: { type: 'integer', minimum: 1, maximum: 10_000_000 },
    constraints: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxCost: { type: 'number', minimum: 0 },
        maxLatencyMs: { type: 'number', minimum: 0 },
        minQuality: { type: 'number', minimum: 0, maximum: 1 },
        minContext: { type: 'number', minimum: 0 },
        allow: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 128 } },
        deny: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 128 } },
      },
    },
  },
} as const;

export const chatSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'messages'],
  properties: {
    model: { type: 'string', minLength: 1, maxLength: 128 },
    messages: { type: 'array', minItems: 1, maxItems: 1000, items: message },
    stream: { type: 'boolean' },
    max_tokens: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    top_p: { type: 'number', minimum: 0, maximum: 1 },
    n: { type: 'integer', minimum: 1, maximum: 16 },
    stop: { anyOf: [{ type: 'string', maxLength: 256 }, { type: 'array', maxItems: 4, items: { type: 'string', maxLength: 256 } }] },
    logprobs: { type: 'boolean' },
    top_logprobs: { type: 'integer', minimum: 0, maximum: 20 },
    seed: { type: 'integer' },
    user: { type: 'string', maxLength: 256 },
    arbiter: {
      type: 'object',
      additionalProperties: false,
      required: ['strategy'],
      properties: {
        strategy: { enum: [...DECODE_STRATEGIES] },
        n: { type: 'integer', minimum: 1, maximum: 16 },
        models: { type: 'array', minItems: 1, maxItems: 8, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 128 } },
        reward: { type: 'string', pattern: '^[a-z][a-z0-9_-]*$', maxLength: 64 },
        budget: { type: 'number', minimum: 0, maximum: 1_000_000 },
        deadline_ms: { type: 'integer', minimum: 1, maximum: 600_000 },
        threshold: { type: 'number', minimum: 0, maximum: 1 },
        quality_target: { type: 'number', minimum: 0, maximum: 1 },
        answer: { enum: ['choice', 'number', 'text'] },
        weighting: { enum: ['reliability', 'equal'] },
        beam_width: { type: 'integer', minimum: 1, maximum: 8 },
        expansions: { type: 'integer', minimum: 1, maximum: 8 },
        max_steps: { type: 'integer', minimum: 1, maximum: 32 },
        diverse: { type: 'boolean' },
        diversity: { type: 'number', minimum: 0, maximum: 1 },
        include_candidates: { type: 'boolean' },
      },
    },
  },
} as const;

export const routeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt'],
  properties: { prompt: { type: 'string', maxLength: 1_000_000 }, options: routeOptions },
} as const;

export const routeBatchSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prompts'],
  properties: { prompts: { type: 'array', maxItems: 10_000, items: { type: 'string', maxLength: 1_000_000 } }, options: routeOptions },
} as const;

export const feedbackSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt', 'model', 'quality'],
  properties: {
    prompt: { type: 'string', maxLength: 1_000_000 },
    model: { type: 'string', minLength: 1, maxLength: 128 },
    quality: { type: 'number', minimum: 0, maximum: 1 },
    task: { type: 'string', pattern: '^[a-z][a-z0-9_-]*$', maxLength: 64 },
  },
} as const;
