/**
 * The JSON Schema of a config file. Defaults are filled in by validation (ajv useDefaults), so
 * a minimal model entry is `{id, provider, cost}`.
 */
export const STRATEGIES = ['quality', 'cost', 'latency', 'balanced', 'custom'] as const;

const nonNegative = { type: 'number', minimum: 0 };

export const configSchema = {
  $id: 'https://arbiter.local/config.schema.json',
  type: 'object',
  additionalProperties: false,
  required: ['models'],
  // x-… keys are free (YAML anchors to share settings between models)
  patternProperties: { '^x-': {} },
  properties: {
    models: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'provider', 'cost'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$' },
          provider: {
            type: 'object',
            additionalProperties: false,
            required: ['kind'],
            properties: {
              kind: { enum: ['openai', 'replay'] },
              baseUrl: { type: 'string', pattern: '^https?://[^\\s]+$' },
              apiKeyEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
              upstreamModel: { type: 'string', minLength: 1 },
              data: { type: 'string', minLength: 1 },
              timeoutMs: { type: 'integer', minimum: 1, default: 60_000 },
              connectTimeoutMs: { type: 'integer', minimum: 1, default: 5_000 },
              firstTokenMs: { type: 'integer', minimum: 1, default: 20_000 },
              retries: { type: 'integer', minimum: 0, maximum: 10, default: 2 },
            },
            allOf: [
              { if: { properties: { kind: { const: 'openai' } } }, then: { required: ['baseUrl'] } },
              { if: { properties: { kind: { const: 'replay' } } }, then: { required: ['data'] } },
            ],
          },
          cost: {
            type: 'object',
            additionalProperties: false,
            required: ['inputPer1k', 'outputPer1k'],
            properties: { inputPer1k: nonNegative, outputPer1k: nonNegative },
          },
          contextTokens: { type: 'integer', minimum: 1, default: 8192 },
          limits: {
            type: 'object',
            additionalProperties: false,
            properties: { requestsPerMinute: { type: 'integer', minimum: 1 }, tokensPerMinute: { type: 'integer', minimum: 1 } },
          },
          maxConcurrent: { type: 'integer', minimum: 1, default: 16 },
          latency: {
            type: 'object',
            additionalProperties: false,
            default: {},
            properties: {
              firstTokenMs: { ...nonNegative, default: 500 },
              tokensPerSec: { type: 'number', exclusiveMinimum: 0, default: 50 },
            },
          },
          strengths: {
            type: 'object',
            default: {},
            propertyNames: { pattern: '^[a-z][a-z0-9_-]*$' },
            additionalProperties: { type: 'number', minimum: 0, maximum: 1 },
          },
          tags: { type: 'array', items: { type: 'string' }, default: [] },
        },
      },
    },
    rewards: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        head: { type: 'string', minLength: 1 },
        onnx: { type: 'string', minLength: 1 },
        judge: {
          type: 'object',
          additionalProperties: false,
          required: ['model'],
          properties: { model: { type: 'string', minLength: 1 }, maxTokens: { type: 'integer', minimum: 1, maximum: 4096, default: 256 } },
        },
      },
    },
    routing: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        strategy: { enum: [...STRATEGIES], default: 'balanced' },
        weights: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            quality: { ...nonNegative, default: 0.6 },
            cost: { ...nonNegative, default: 0.2 },
            latency: { ...nonNegative, default: 0.2 },
          },
        },
        qualityTarget: { type: 'number', minimum: 0, maximum: 1 },
        model: { type: 'string', minLength: 1 },
        embedder: { type: 'string', pattern: '^(static(:.+)?|use|onnx:.+)$', default: 'static' },
        k: { type: 'integer', minimum: 1, maximum: 1024, default: 16 },
      },
    },
  },
} as const;
