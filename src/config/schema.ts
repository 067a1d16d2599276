/**
 * The JSON Schema of a config file. Defaults are filled in by validation (ajv useDefaults), so
 * a minimal model entry is `{id, provider, cost}`.
 */
import { idName, pipelinesSchema, profilesSchema } from './pipeline-schema.js';

/** Routing strategies: what a decision optimises. */
/** What a model can take: tool calls, JSON output (response_format), images, audio, streamed answers. */
export const CAPABILITIES = ['tools', 'json', 'vision', 'audio', 'streaming'] as const;
export const DEFAULT_CAPABILITIES = {
  openai: ['tools', 'json', 'streaming'],
  azure: ['tools', 'json', 'streaming'],
  // the Messages API has no response_format: JSON output is not declared by default
  anthropic: ['tools', 'vision', 'streaming'],
  replay: ['streaming'],
  rules: ['streaming'],
} as const;

export const STRATEGIES = ['quality', 'cost', 'latency', 'balanced', 'custom'] as const;

/** Decoding strategies a request may name (`auto`: by task, from the config's `decoding` table). */
export const DECODE_STRATEGIES = ['auto', 'best_of_n', 'weighted_best_of_n', 'vote', 'cascade', 'guided'] as const;
const CONCRETE_DECODE_STRATEGIES = DECODE_STRATEGIES.filter((s) => s !== 'auto') as unknown as readonly [
  'best_of_n',
  'weighted_best_of_n',
  'vote',
  'cascade',
  'guided',
];
// a lower-case word that Object.prototype does not already have (src/names.ts)
const taskName = { pattern: '^[a-z][a-z0-9_-]*$', not: { enum: ['constructor'] } } as const;

const nonNegative = { type: 'number', minimum: 0 } as const;

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
              // openai: an OpenAI-compatible endpoint; azure: Azure OpenAI (upstreamModel is the deployment);
              // anthropic: Anthropic's Messages API; replay: recorded answers; rules: the offline demo model
              kind: { enum: ['openai', 'azure', 'anthropic', 'replay', 'rules'] },
              // Azure OpenAI's api-version query parameter (kind azure)
              apiVersion: { type: 'string', pattern: '^[0-9A-Za-z.-]{1,40}$' },
              // OpenAI-compatible endpoint, e.g. http://127.0.0.1:8001/v1 (kind openai)
              baseUrl: { type: 'string', pattern: '^https?://[^\\s]+$' },
              // the environment variable that holds the API key: the key itself never sits in the file
              apiKeyEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
              // the model name sent upstream (default: the model's id)
              upstreamModel: { type: 'string', minLength: 1 },
              // recorded outcomes to answer from (kind replay), relative to the config file
              data: { type: 'string', minLength: 1 },
              // per attempt: to the whole response (to the headers, for streams)
              timeoutMs: { type: 'integer', minimum: 1, default: 60_000 },
              // per attempt: to an open TCP (and TLS) connection
              connectTimeoutMs: { type: 'integer', minimum: 1, default: 5_000 },
              // streams: to the first token
              firstTokenMs: { type: 'integer', minimum: 1, default: 20_000 },
              // streams: the longest silence between chunks once the first arrived (default 30 s), and the
              // whole stream's limit (default 600 s)
              streamIdleMs: { type: 'integer', minimum: 1 },
              streamTotalMs: { type: 'integer', minimum: 1 },
              // the largest response body (or whole stream) read from the upstream (default 8 MiB)
              maxResponseBytes: { type: 'integer', minimum: 1024 },
              // retries of retryable failures on this model before falling back
              retries: { type: 'integer', minimum: 0, maximum: 10, default: 2 },
            },
            allOf: [
              { if: { properties: { kind: { enum: ['openai', 'anthropic'] } } }, then: { required: ['baseUrl'] } },
              { if: { properties: { kind: { const: 'azure' } } }, then: { required: ['baseUrl', 'apiVersion'] } },
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
          // optional per-minute limits: a call over them fails fast with ARB_RATE_LIMITED and falls back
          limits: {
            type: 'object',
            additionalProperties: false,
            properties: {
              requestsPerMinute: { type: 'integer', minimum: 1 },
              tokensPerMinute: { type: 'integer', minimum: 1 },
            },
          },
          maxConcurrent: { type: 'integer', minimum: 1, default: 16 },
          // latency prior until measurements arrive
          latency: {
            type: 'object',
            additionalProperties: false,
            default: {},
            properties: {
              firstTokenMs: { ...nonNegative, default: 500 },
              tokensPerSec: { type: 'number', exclusiveMinimum: 0, default: 50 },
            },
          },
          // prior quality per task type in [0, 1] (the taxonomy is open: any task name)
          strengths: {
            type: 'object',
            default: {},
            propertyNames: taskName,
            additionalProperties: { type: 'number', minimum: 0, maximum: 1 },
          },
          tags: { type: 'array', items: { type: 'string' }, default: [] },
          // what the model can take (docs/gateway.md): a request that needs one routes only to models
          // that have it. Default: tools, json and streaming (replay models: streaming); vision and
          // audio must be declared.
          capabilities: { type: 'array', uniqueItems: true, items: { enum: [...CAPABILITIES] } },
        },
      },
    },
    rewards: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // a reward head folder (arbiter train-reward), relative to the config file
        head: { type: 'string', minLength: 1 },
        // an ONNX reward model (folder or .onnx with tokenizer.json beside it), relative to the config file
        onnx: { type: 'string', minLength: 1 },
        // an LLM judge: one of the configured models
        judge: {
          type: 'object',
          additionalProperties: false,
          required: ['model'],
          properties: {
            model: { type: 'string', minLength: 1 },
            maxTokens: { type: 'integer', minimum: 1, maximum: 4096, default: 256 },
          },
        },
      },
    },
    routing: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        strategy: { enum: [...STRATEGIES], default: 'balanced' },
        // relative weights for 'custom' (and the 'balanced' default); need not sum to 1
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
        // quality-target mode: the cheapest model predicted to reach this quality
        qualityTarget: { type: 'number', minimum: 0, maximum: 1 },
        // a trained router model folder (arbiter train), relative to the config file
        model: { type: 'string', minLength: 1 },
        // config model id -> the id the router model knows it by (when the names differ)
        modelMap: {
          type: 'object',
          propertyNames: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$' },
          additionalProperties: { type: 'string', minLength: 1, maxLength: 128 },
        },
        // static (default), static:<dir>, use, onnx:<path>
        embedder: { type: 'string', pattern: '^(static(:.+)?|use|onnx:.+)$', default: 'static' },
        // significance level of a trained router's out-of-distribution test (docs/routing.md): a
        // prompt less like the training prompts than this share of them routes as `general` on
        // the priors. At most about this share of prompts like the training ones is flagged; 0: off
        oodLevel: { type: 'number', minimum: 0, maximum: 0.5, default: 0.02 },
        // neighbours per kNN vote
        k: { type: 'integer', minimum: 1, maximum: 1024, default: 16 },
        // share of requests routed on a Thompson draw (each model's quality sampled from its
        // prediction ± stderr) instead of the prediction: lets a model that lost traffic on a few
        // bad ratings earn it back (docs/routing.md). 0 (default): every decision deterministic
        explore: { type: 'number', minimum: 0, maximum: 1, default: 0 },
        // corrections from rated answers against predictions (docs/routing.md): the half-life in
        // ratings, and the pseudo-ratings of "no correction" the first ones are averaged with
        drift: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            halfLife: { type: 'number', exclusiveMinimum: 0, default: 50 },
            priorRatings: { type: 'number', minimum: 0, default: 20 },
          },
        },
      },
    },
    /**
     * Defaults of reward-guided decoding (the `arbiter` request option; docs/decoding.md): which
     * strategy `auto` runs for each task, and the strategies' constants when a request does not
     * set them. The defaults are the values the strategies were evaluated with.
     */
    decoding: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // task -> strategy for `strategy: auto`; a task not listed gets `otherwise`. A cascade needs a
        // learned reward head (rewards.head) to be worth its calls: without one, a weighted vote runs.
        byTask: {
          type: 'object',
          propertyNames: taskName,
          additionalProperties: { enum: CONCRETE_DECODE_STRATEGIES },
          default: { math: 'guided', creative: 'best_of_n', knowledge: 'cascade', reasoning: 'cascade' },
        },
        otherwise: { enum: CONCRETE_DECODE_STRATEGIES, default: 'best_of_n' },
        // best-of-N candidates, and models asked by a vote, when the request does not say
        n: { type: 'integer', minimum: 1, maximum: 16, default: 4 },
        voteModels: { type: 'integer', minimum: 1, maximum: 8, default: 3 },
        // best-of-N diversity penalty per task (λ × the highest similarity to another candidate)
        diversity: {
          type: 'object',
          propertyNames: taskName,
          additionalProperties: { type: 'number', minimum: 0, maximum: 1 },
          default: { creative: 0.3 },
        },
        // a weighted vote's smallest weight per model (weights are the log-odds of predicted quality)
        minVoteWeight: { type: 'number', exclusiveMinimum: 0, default: 0.01 },
        // the heuristic cascade's acceptance threshold when no learned one applies
        cascadeThreshold: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
      },
    },
    // the HTTP gateway (docs/gateway.md): request fields arbiter does not know are passed to the
    // upstream unchanged (pass), or refused with 400 naming the field (reject)
    gateway: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        unknownFields: { enum: ['pass', 'reject'], default: 'pass' },
      },
    },
    // multi-phase pipelines (docs/pipelines.md), run by `model: "pipeline:<id>"`
    pipelines: pipelinesSchema,
    // agent profiles and the single- or multi-model matcher (docs/pipelines.md), for `model: "agent[:<id>]"`
    profiles: profilesSchema,
    /**
     * Experiments (docs/experiments.md): traffic split between arms — a model, or a routing
     * strategy — with sticky assignment per unit, a primary metric compared with an always-valid
     * sequential test, guardrails that stop it, and promotion of the winner. Needs a store.
     */
    experiments: {
      type: 'array',
      maxItems: 32,
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'arms'],
        properties: {
          id: idName,
          // the first arm is the control; each is one of: a configured model, a routing strategy, a
          // pipeline, a decoding strategy, or a trained router
          arms: {
            type: 'array',
            minItems: 2,
            maxItems: 8,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['id'],
              properties: {
                id: idName,
                model: { type: 'string', minLength: 1 },
                strategy: { enum: ['quality', 'cost', 'latency', 'balanced'] },
                // a pipeline's id (docs/pipelines.md)
                pipeline: { type: 'string', minLength: 1 },
                // a decoding strategy (docs/decoding.md): whole answers chosen with a reward
                decoding: { enum: DECODE_STRATEGIES },
                // a trained router model folder (arbiter train output; relative to the config file)
                router: { type: 'string', minLength: 1 },
                weight: { type: 'number', exclusiveMinimum: 0, default: 1 },
              },
            },
          },
          // split: fixed weights, sticky units, the sequential test; bandit: Thompson sampling on
          // quality − lambda·cost (per request), promoting the arm identified best with 1 − delta
          mode: { enum: ['split', 'bandit'], default: 'split' },
          lambda: { type: 'number', minimum: 0, default: 0 },
          minShare: { type: 'number', minimum: 0, maximum: 0.5, default: 0.05 },
          delta: { type: 'number', exclusiveMinimum: 0, maximum: 0.5, default: 0.05 },
          // who sees the same arm every time: the request's `user`, else the API key; `request`: no stickiness
          // (header: the value of the scope's header)
          unit: { enum: ['user', 'key', 'request', 'header'], default: 'user' },
          // only requests from these API key ids (hashes), when given
          keys: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 1000 },
          // only requests carrying this header (with this value, when given)
          header: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' },
              value: { type: 'string', maxLength: 256 },
            },
          },
          // only requests whose `user` field is one of these, when given
          users: {
            type: 'array',
            items: { type: 'string', minLength: 1, maxLength: 256 },
            minItems: 1,
            maxItems: 10_000,
          },
          // only requests the router puts in one of these tasks, when given
          tasks: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, maxItems: 64 },
          metric: { enum: ['quality', 'cost', 'latency', 'errors'], default: 'quality' },
          // where quality comes from: any feedback, or one source — users' ratings, the learned
          // reward or a judge scoring a share of answers (store.autoScore), tests
          qualitySource: { enum: ['any', 'user', 'reward', 'judge', 'test'], default: 'any' },
          // always-valid: read at any time (mixture SPRT); planned: a group-sequential design with
          // O'Brien–Fleming α-spending, sized for minDifference at this power — fewer units, looks
          // taken as the information grows (docs/experiments.md)
          test: { enum: ['always-valid', 'planned'], default: 'always-valid' },
          power: { type: 'number', minimum: 0.5, maximum: 0.99, default: 0.8 },
          // the smallest difference worth detecting (the sequential test's mixture scale)
          minDifference: { type: 'number', exclusiveMinimum: 0, default: 0.05 },
          alpha: { type: 'number', exclusiveMinimum: 0, maximum: 0.5, default: 0.05 },
          // stop when a challenger's error rate exceeds the control's by this many points, its p95
          // latency the control's by this ratio, or its mean cost by this ratio
          guardrails: {
            type: 'object',
            additionalProperties: false,
            default: {},
            properties: {
              errorRate: { type: 'number', minimum: 0, maximum: 1, default: 0.02 },
              latencyRatio: { type: 'number', exclusiveMinimum: 1, default: 1.2 },
              costRatio: { type: 'number', exclusiveMinimum: 1 },
              // outcomes per arm before the guardrails are read
              minUnits: { type: 'integer', minimum: 1, default: 100 },
            },
          },
          // promote the winner automatically when the test decides (else: report only)
          autoPromote: { type: 'boolean', default: true },
        },
      },
    },
    /**
     * The outcome store (docs/store.md): every request, call and rating recorded off the request
     * path. Without a `store` section, a config read from a file records to `sqlite:./arbiter.db`
     * beside it; an in-memory config records nothing.
     */
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // none | sqlite:<file> (relative to the config file) | sqlite::memory: | postgres://…
        url: { type: 'string', minLength: 1 },
        // an environment variable holding the URL (wins over url when set): keeps passwords out of the file
        urlEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
        // what is kept of prompts: nothing, a hash (default), or the prompt and answer text (separate table)
        prompts: { enum: ['none', 'hash', 'full'], default: 'hash' },
        flushMs: { type: 'integer', minimum: 10, maximum: 60_000, default: 500 },
        batchRows: { type: 'integer', minimum: 1, maximum: 10_000, default: 500 },
        maxQueue: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 10_000 },
        // where batches wait while the database is unavailable (default: beside a SQLite file; for
        // PostgreSQL arbiter-<hash of the URL>.spool.jsonl in the config's folder)
        spool: { type: 'string', minLength: 1 },
        maxSpoolBytes: { type: 'integer', minimum: 0, default: 104_857_600 },
        // `arbiter store purge` deletes requests older than this
        retentionDays: { type: 'integer', minimum: 1 },
        // automatic scoring (docs/store.md): this share of answered requests scored after the answer
        // by a configured reward (head, onnx, verifier, judge), recorded as feedback
        autoScore: {
          type: 'object',
          additionalProperties: false,
          required: ['share', 'reward'],
          properties: {
            share: { type: 'number', minimum: 0, maximum: 1 },
            reward: { type: 'string', minLength: 1 },
            concurrency: { type: 'integer', minimum: 1, maximum: 64, default: 2 },
            maxQueue: { type: 'integer', minimum: 1, maximum: 100_000, default: 1000 },
          },
        },
        // per-model profiles: successful calls before measured latency replaces the configured prior,
        // and the half-life (in ratings) of the weighted mean rating per model × task
        profiles: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            minCalls: { type: 'integer', minimum: 1, default: 20 },
            halfLife: { type: 'number', exclusiveMinimum: 0, default: 100 },
          },
        },
      },
    },
  },
} as const;
