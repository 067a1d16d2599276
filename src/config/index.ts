export type {
  ArbiterConfig,
  DecodingSettings,
  ModelSpec,
  ProviderKind,
  ProviderSettings,
  RewardSettings,
  RoutingSettings,
  Strategy,
} from './types.js';
export { loadConfig, parseConfig, validateConfig } from './load.js';
export { configSchema, DECODE_STRATEGIES, STRATEGIES } from './schema.js';
export { ModelRegistry } from './registry.js';
export {
  arbiterOptionSchema,
  chatRequestSchema,
  DECODE_LIMITS,
  decodeOptionsSchema,
  feedbackSchema,
  routeBatchRequestSchema,
  routeOptionsSchema,
  routeRequestSchema,
  toDecodeOptions,
  type ArbiterOption,
  type DecodeOptions,
  type DecodeStrategy,
  type FeedbackRequest,
  type RouteOptions,
} from './requests.js';
export { checker } from './validate.js';
