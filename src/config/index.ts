export type {
  ArbiterConfig,
  DecodingSettings,
  ModelSpec,
  ProviderKind,
  ProviderSettings,
  RewardSettings,
  RoutingSettings,
  StoreSettings,
  ExperimentSettings,
  GatewaySettings,
  PhaseSettings,
  PipelineSettings,
  ProfileSettings,
  Strategy,
} from './types.js';
export { BUILTIN_PIPELINES, BUILTIN_PROFILES } from './builtin-pipelines.js';
export { ancestors, templateVariables } from './pipelines.js';
export { loadConfig, parseConfig, validateConfig } from './load.js';
export { CAPABILITIES, configSchema, DECODE_STRATEGIES, DEFAULT_CAPABILITIES, STRATEGIES } from './schema.js';
export { capabilitiesOf, type Capability as ModelCapability } from './capabilities.js';
export { ModelRegistry } from './registry.js';
export {
  arbiterOptionSchema,
  chatRequestSchema,
  completionRequestSchema,
  embeddingRequestSchema,
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
