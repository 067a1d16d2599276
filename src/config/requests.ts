/**
 * One source per request shape: the JSON Schemas of route options, the `arbiter` decoding option,
 * chat requests and feedback. The HTTP gateway validates bodies with them, the library validates
 * its arguments with them, and the TypeScript types derive from them (json-schema-to-ts), so the
 * limits agree everywhere by construction. Sizes are bounded so no request can make unbounded work.
 */
import type { FromSchema } from 'json-schema-to-ts';

import { CAPABILITIES, DECODE_STRATEGIES, STRATEGIES } from './schema.js';

/** Limits of the `arbiter` option (the strategies check the same numbers when called directly). */
export const DECODE_LIMITS = {
  n: 64,
  models: 8,
  beamWidth: 8,
  expansions: 8,
  maxSteps: 32,
  deadlineMs: 600_000,
  budget: 1_000_000,
} as const;

const modelId = { type: 'string', minLength: 1, maxLength: 128 } as const;
// a lower-case word that Object.prototype does not already have (src/names.ts)
const taskName = {
  type: 'string',
  pattern: '^[a-z][a-z0-9_-]*$',
  maxLength: 64,
  not: { enum: ['constructor'] },
} as const;

export const routeOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // overrides the config's strategy
    strategy: { enum: STRATEGIES },
    // weights for 'custom' (and 'balanced' when given); an error anywhere inside names the whole triple
    weights: {
      type: 'object',
      'x-param': 'whole',
      additionalProperties: false,
      required: ['quality', 'cost', 'latency'],
      properties: {
        quality: { type: 'number', minimum: 0 },
        cost: { type: 'number', minimum: 0 },
        latency: { type: 'number', minimum: 0 },
      },
    },
    // quality-target mode: the cheapest model predicted to reach this quality
    qualityTarget: { type: 'number', minimum: 0, maximum: 1 },
    // expected output tokens (default: by task type)
    maxTokens: { type: 'integer', minimum: 1, maximum: 10_000_000 },
    constraints: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxCost: { type: 'number', minimum: 0 },
        maxLatencyMs: { type: 'number', minimum: 0 },
        minQuality: { type: 'number', minimum: 0, maximum: 1 },
        // tokens the model must fit (default: estimated input + output)
        minContext: { type: 'number', minimum: 0 },
        allow: { type: 'array', 'x-param': 'whole', maxItems: 1000, items: { type: 'string', maxLength: 128 } },
        deny: { type: 'array', 'x-param': 'whole', maxItems: 1000, items: { type: 'string', maxLength: 128 } },
        // capabilities the model must have (the gateway sets them from the request: tools, images, …)
        capabilities: { type: 'array', maxItems: 5, items: { enum: [...CAPABILITIES] } },
      },
    },
  },
} as const;

/** The `arbiter` option of a chat request (snake_case, as clients send it). */
export const arbiterOptionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['strategy'],
  properties: {
    strategy: { enum: DECODE_STRATEGIES },
    n: { type: 'integer', minimum: 1, maximum: DECODE_LIMITS.n },
    models: { type: 'array', minItems: 1, maxItems: DECODE_LIMITS.models, uniqueItems: true, items: modelId },
    reward: taskName,
    budget: { type: 'number', minimum: 0, maximum: DECODE_LIMITS.budget },
    deadline_ms: { type: 'integer', minimum: 1, maximum: DECODE_LIMITS.deadlineMs },
    threshold: { type: 'number', minimum: 0, maximum: 1 },
    quality_target: { type: 'number', minimum: 0, maximum: 1 },
    answer: { enum: ['choice', 'number', 'text'] },
    weighting: { enum: ['reliability', 'equal'] },
    beam_width: { type: 'integer', minimum: 1, maximum: DECODE_LIMITS.beamWidth },
    expansions: { type: 'integer', minimum: 1, maximum: DECODE_LIMITS.expansions },
    max_steps: { type: 'integer', minimum: 1, maximum: DECODE_LIMITS.maxSteps },
    diverse: { type: 'boolean' },
    diversity: { type: 'number', minimum: 0, maximum: 1 },
    include_candidates: { type: 'boolean' },
  },
} as const;

/** A content part: text (read by the analyser), or image_url, input_audio, file … (passed through as sent). */
const contentPart = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', minLength: 1, maxLength: 64 },
    text: { type: 'string', maxLength: 1_000_000 },
  },
} as const;

const message = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { enum: ['system', 'user', 'assistant', 'tool', 'developer', 'function'] },
    content: {
      anyOf: [
        { type: 'string', maxLength: 1_000_000 },
        { type: 'array', maxItems: 1000, items: contentPart },
        { type: 'null' },
      ],
    },
    name: { type: 'string', maxLength: 256 },
    tool_calls: { type: 'array', maxItems: 256, items: { type: 'object' } },
    tool_call_id: { type: 'string', maxLength: 256 },
  },
  // every message has content, but an assistant's that calls tools (or a function)
  if: { properties: { role: { const: 'assistant' } } },
  else: { required: ['content'] },
} as const;

const penalty = { type: 'number', minimum: -2, maximum: 2 } as const;

/**
 * The chat request as the OpenAI API documents it. The fields arbiter reads or checks are listed;
 * every other field is passed to the upstream unchanged (gateway.unknownFields: reject refuses them,
 * naming the field).
 */
export const chatRequestSchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: modelId,
    messages: { type: 'array', minItems: 1, maxItems: 1000, items: message },
    stream: { type: 'boolean' },
    stream_options: {
      type: 'object',
      properties: { include_usage: { type: 'boolean' } },
    },
    max_tokens: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    max_completion_tokens: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    top_p: { type: 'number', minimum: 0, maximum: 1 },
    n: { type: 'integer', minimum: 1, maximum: 16 },
    stop: {
      anyOf: [
        { type: 'string', maxLength: 256 },
        { type: 'array', maxItems: 4, items: { type: 'string', maxLength: 256 } },
        { type: 'null' },
      ],
    },
    logprobs: { type: 'boolean' },
    top_logprobs: { type: 'integer', minimum: 0, maximum: 20 },
    seed: { type: 'integer' },
    user: { type: 'string', maxLength: 256 },
    frequency_penalty: penalty,
    presence_penalty: penalty,
    logit_bias: { type: 'object', additionalProperties: { type: 'number', minimum: -100, maximum: 100 } },
    tools: { type: 'array', maxItems: 128, items: { type: 'object', required: ['type'] } },
    tool_choice: { anyOf: [{ enum: ['none', 'auto', 'required'] }, { type: 'object' }] },
    parallel_tool_calls: { type: 'boolean' },
    functions: { type: 'array', maxItems: 128, items: { type: 'object' } },
    function_call: { anyOf: [{ type: 'string' }, { type: 'object' }] },
    response_format: {
      type: 'object',
      required: ['type'],
      properties: { type: { enum: ['text', 'json_object', 'json_schema'] } },
    },
    reasoning_effort: { type: 'string', maxLength: 32 },
    metadata: { type: 'object', maxProperties: 16, additionalProperties: { type: 'string', maxLength: 512 } },
    modalities: { type: 'array', maxItems: 4, items: { type: 'string', maxLength: 32 } },
    arbiter: arbiterOptionSchema,
  },
} as const;

/** POST /v1/completions (legacy text completions, served through the chat models). */
export const completionRequestSchema = {
  type: 'object',
  required: ['model', 'prompt'],
  properties: {
    model: modelId,
    prompt: {
      anyOf: [
        { type: 'string', maxLength: 1_000_000 },
        { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string', maxLength: 1_000_000 } },
      ],
    },
    stream: { type: 'boolean' },
    stream_options: { type: 'object', properties: { include_usage: { type: 'boolean' } } },
    max_tokens: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    top_p: { type: 'number', minimum: 0, maximum: 1 },
    n: { type: 'integer', minimum: 1, maximum: 16 },
    stop: chatRequestSchema.properties.stop,
    presence_penalty: penalty,
    frequency_penalty: penalty,
    logit_bias: chatRequestSchema.properties.logit_bias,
    seed: { type: 'integer' },
    user: { type: 'string', maxLength: 256 },
    // not translatable to a chat request: refused by name rather than silently dropped
    echo: { const: false },
    suffix: { type: 'null' },
    logprobs: { type: 'null' },
    best_of: { const: 1 },
  },
} as const;

/** POST /v1/embeddings. */
export const embeddingRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'input'],
  properties: {
    model: modelId,
    input: {
      anyOf: [
        { type: 'string', maxLength: 1_000_000 },
        { type: 'array', minItems: 1, maxItems: 2048, items: { type: 'string', maxLength: 100_000 } },
      ],
    },
    encoding_format: { enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1, maximum: 4096 },
    user: { type: 'string', maxLength: 256 },
  },
} as const;

/** The fields of a chat request arbiter knows (the rest pass through, or are refused with unknownFields: reject). */
export const KNOWN_CHAT_FIELDS: ReadonlySet<string> = new Set([
  ...Object.keys(chatRequestSchema.properties),
  'store',
  'audio',
  'prediction',
  'service_tier',
  'web_search_options',
  'verbosity',
  'prompt_cache_key',
  'safety_identifier',
]);

export const routeRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt'],
  properties: { prompt: { type: 'string', maxLength: 1_000_000 }, options: routeOptionsSchema },
} as const;

export const routeBatchRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prompts'],
  properties: {
    prompts: { type: 'array', maxItems: 10_000, items: { type: 'string', maxLength: 1_000_000 } },
    options: routeOptionsSchema,
    // decisions as {model, task, confidence, quality, cost, latencyMs, fallbacks}: up to 10,000 prompts (full ones: 1,000)
    compact: { type: 'boolean' },
  },
} as const;

export const feedbackSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt', 'model', 'quality'],
  properties: {
    prompt: { type: 'string', maxLength: 1_000_000 },
    model: modelId,
    quality: { type: 'number', minimum: 0, maximum: 1 },
    task: taskName,
  },
} as const;

/** Feedback on a request by its id: exactly one of score (0–1), rating (1–5) or thumbs. */
export const ratingSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['request_id'],
  properties: {
    request_id: { type: 'string', minLength: 1, maxLength: 128 },
    score: { type: 'number', minimum: 0, maximum: 1 },
    rating: { type: 'integer', minimum: 1, maximum: 5 },
    thumbs: { enum: ['up', 'down'] },
    source: { enum: ['user', 'judge', 'reward', 'test'] },
    comment: { type: 'string', maxLength: 2000 },
  },
} as const;

/** POST /v1/feedback: a rating of a request (`request_id`), or an outcome of a model on a prompt (admin). */
export const feedbackBodySchema = {
  type: 'object',
  if: { required: ['request_id'] },
  then: ratingSchema,
  else: feedbackSchema,
} as const;

/** GET /v1/stats query. */
export const statsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // epoch milliseconds or an ISO date; default 7 days ago
    since: { type: 'string', maxLength: 40 },
    model: { type: 'string', maxLength: 128 },
    task: { type: 'string', maxLength: 64 },
    key: { type: 'string', maxLength: 64 },
  },
} as const;

type Mutable<T> =
  T extends ReadonlyArray<infer U> ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;
type Schema<S> = Mutable<FromSchema<S & object>>;

export type RouteOptions = Schema<typeof routeOptionsSchema>;
/** The `arbiter` option as clients send it (snake_case). */
export type ArbiterOption = Schema<typeof arbiterOptionSchema>;
export type DecodeStrategy = (typeof DECODE_STRATEGIES)[number];
export type FeedbackRequest = Schema<typeof feedbackSchema>;
export type RatingRequest = Schema<typeof ratingSchema>;

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
/** The library's form of the `arbiter` option: the same keys in camelCase (include_candidates is HTTP-only). */
export type DecodeOptions = {
  [K in keyof ArbiterOption as K extends 'include_candidates' ? never : Camel<K & string>]: ArbiterOption[K];
};

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The `arbiter` option in the library's camelCase form. */
export function toDecodeOptions(o: ArbiterOption): DecodeOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (k !== 'include_candidates') out[camel(k)] = v;
  return out as DecodeOptions;
}

/** The schema of DecodeOptions: the `arbiter` option's, keys renamed — the same limits by construction. */
export const decodeOptionsSchema = {
  ...arbiterOptionSchema,
  properties: Object.fromEntries(
    Object.entries(arbiterOptionSchema.properties)
      .filter(([k]) => k !== 'include_candidates')
      .map(([k, v]) => [camel(k), v]),
  ),
};
