export type { ArbiterConfig, ModelSpec, ProviderKind, ProviderSettings, RewardSettings, RoutingSettings, Strategy } from './types.js';
export { loadConfig, parseConfig, validateConfig } from './config.js';
export { configSchema, STRATEGIES } from './schema.js';
export { ModelRegistry } from './registry.js';
