export type {
  ArbiterConfig,
  DecodingSettings,
  ModelSpec,
  ProviderKind,
  ProviderSettings,
  RewardSettings,
  RoutingSettings,
  StoreSettings,
  Strategy,
} from './types.js';
export { loadConfig, parseConfig, validateConfig } from './load.js';
export { configSchema, DECODE_STRATEGIES, STRATEGIES } from './schema.js';
export { ModelRegistry } from './registry.js';
export {
  arbiterOptionSchema,
  chatRequestSchema,
  KNOWN_CHAT_FIELDS,
  DECODE_LIMITS,
  decodeOptionsSchema,
  feedbackBodySchema,
  feedbackSchema,
  ratingSchema,
  statsQuerySchema,
  routeBatchRequestSchema,
  routeOptionsSchema,
  routeRequestSchema,
  toDecodeOptions,
  type ArbiterOption,
  type DecodeOptions,
  type DecodeStrategy,
  type FeedbackRequest,
  type RatingRequest,
  type RouteOptions,
} from './requests.js';
export { checker } from './validate.js';
