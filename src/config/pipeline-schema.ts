/**
 * The JSON Schema of `pipelines` (docs/pipelines.md): named multi-phase runs. Each phase has
 * instructions (a template over `{{input}}` and earlier phases' `{{phases.<name>.output}}`, with
 * `||` between alternatives: the first that is not empty), a model choice, whether it is critical,
 * a timeout, max tokens, a share of the run's budget, `after` (a DAG: phases with no path between
 * them run in parallel), `when` (a condition on an earlier phase's output) and `loop` (run again
 * from an earlier phase while `when` holds, at most `max` more times).
 */
const phaseName = { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' } as const;
/** The id of a pipeline, an agent profile, an experiment or an arm. */
export const idName = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } as const;

const condition = {
  type: 'object',
  additionalProperties: false,
  required: ['phase'],
  properties: {
    phase: phaseName,
    // a regular expression (JavaScript syntax) the output must match, or must not
    matches: { type: 'string', minLength: 1, maxLength: 200 },
    notMatches: { type: 'string', minLength: 1, maxLength: 200 },
    // a reward phase's verdict
    verdict: { enum: ['pass', 'fail'] },
  },
} as const;

export const pipelinesSchema = {
  type: 'array',
  maxItems: 64,
  default: [],
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'phases'],
    properties: {
      id: idName,
      description: { type: 'string', maxLength: 500 },
      phases: {
        type: 'array',
        minItems: 1,
        maxItems: 16,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: phaseName,
            // what the phase's model is asked (a model phase needs it); for `model: none`, the output itself
            instructions: { type: 'string', minLength: 1, maxLength: 20_000 },
            // a configured model id, `auto` or `auto:<strategy>` (routed on the phase's prompt), or
            // `none` (no call: the output is the rendered instructions); or `models`: configured ids
            // tried in order (fallbacks)
            model: { type: 'string', minLength: 1, default: 'auto' },
            // a reward phase calls no model: it scores earlier phases' outputs with a reward (the
            // engine's, by name) and passes the best on, with a verdict — pass when its score
            // reaches the threshold (or, with agree, when two or more extracted answers agree)
            reward: {
              type: 'object',
              additionalProperties: false,
              required: ['of'],
              properties: {
                of: { type: 'array', minItems: 1, maxItems: 8, items: phaseName },
                name: { type: 'string', minLength: 1, default: 'head' },
                threshold: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
                agree: { type: 'boolean', default: false },
              },
            },
            models: { type: 'array', minItems: 1, maxItems: 8, items: { type: 'string', minLength: 1 } },
            // for `auto`: what the router must respect — a quality target (the cheapest model predicted
            // to reach it), a floor on predicted quality, ceilings on cost and latency, the models allowed
            route: {
              type: 'object',
              additionalProperties: false,
              properties: {
                qualityTarget: { type: 'number', minimum: 0, maximum: 1 },
                minQuality: { type: 'number', minimum: 0, maximum: 1 },
                maxCost: { type: 'number', minimum: 0 },
                maxLatencyMs: { type: 'number', minimum: 0 },
                allow: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', minLength: 1 } },
              },
            },
            // a critical phase that fails (after its fallbacks) fails the run; an optional one is skipped
            critical: { type: 'boolean', default: true },
            timeoutMs: { type: 'integer', minimum: 100, maximum: 600_000, default: 60_000 },
            maxTokens: { type: 'integer', minimum: 1, maximum: 32_768 },
            // at most this share of the run's budget: caps max_tokens at the model's output price
            budgetShare: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
            temperature: { type: 'number', minimum: 0, maximum: 2 },
            after: { type: 'array', maxItems: 16, items: phaseName },
            when: condition,
            loop: {
              type: 'object',
              additionalProperties: false,
              required: ['from', 'max'],
              properties: { from: phaseName, max: { type: 'integer', minimum: 1, maximum: 10 } },
            },
          },
        },
      },
      // the phase whose output is the answer (default: the last one listed)
      output: phaseName,
      // USD for the whole run: checked before each phase starts
      budgetUsd: { type: 'number', exclusiveMinimum: 0 },
      // the whole run's deadline
      timeoutMs: { type: 'integer', minimum: 100, maximum: 3_600_000, default: 300_000 },
      // an earlier phase's output is cut to this many tokens (≈ 4 characters each) where a
      // template uses it: its first three quarters and its last quarter, with a marker between
      contextTokens: { type: 'integer', minimum: 16, maximum: 200_000, default: 4000 },
      // keep phase outputs by (phase, model, inputs) and reuse them (in memory, per engine)
      cache: { type: 'boolean', default: false },
    },
  },
} as const;

/**
 * Agent profiles (docs/pipelines.md): what kind of work a prompt is (by keywords, else by the
 * router's task), which pipeline suits it, preferred models, and requirements — for the matcher
 * that picks one model or a pipeline for `model: "agent"` or `agent:<profile>`.
 */
export const profilesSchema = {
  type: 'array',
  maxItems: 64,
  default: [],
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: {
      id: idName,
      description: { type: 'string', maxLength: 500 },
      // words that mark a prompt as this profile's (whole words, any case), checked before tasks
      keywords: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 64 } },
      // the router's tasks this profile takes
      tasks: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1 } },
      // the pipeline for hard prompts (none: always one model)
      pipeline: { type: 'string', minLength: 1 },
      // configured models to answer with, in order of preference, when one model answers
      models: { type: 'array', maxItems: 16, items: { type: 'string', minLength: 1 } },
      requirements: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          accuracy: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
          speed: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
          creativity: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
        },
      },
      // a prompt at least this hard (the router's difficulty, else the analyser's complexity) gets the pipeline
      minComplexity: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
      // the pipeline only when its estimated cost stays within this (USD per request)
      budgetUsd: { type: 'number', exclusiveMinimum: 0 },
    },
  },
} as const;
