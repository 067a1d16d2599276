/**
 * Config types, derived from the JSON Schema in schema.ts (json-schema-to-ts): a key with a
 * default is present after validation, so the type says so. Units: USD per 1,000 tokens;
 * milliseconds; tokens. What each key means is documented beside it in schema.ts.
 */
import type { FromSchema } from 'json-schema-to-ts';

import type { configSchema, STRATEGIES } from './schema.js';

type Validated = FromSchema<typeof configSchema>;

export interface ArbiterConfig {
  models: ModelSpec[];
  routing: RoutingSettings;
  rewards: RewardSettings;
  decoding: DecodingSettings;
  store?: StoreSettings;
  gateway: GatewaySettings;
  experiments: ExperimentSettings[];
  pipelines: PipelineSettings[];
  profiles: ProfileSettings[];
  /** Where the config came from (a path, or a label for in-memory configs). */
  source: string;
}

/** A configured model and how to reach it. */
export type ModelSpec = Validated['models'][number];
export type ProviderSettings = ModelSpec['provider'];
export type ProviderKind = ProviderSettings['kind'];
export type RoutingSettings = NonNullable<Validated['routing']>;
export type RewardSettings = NonNullable<Validated['rewards']>;
export type DecodingSettings = NonNullable<Validated['decoding']>;
export type StoreSettings = NonNullable<Validated['store']>;
export type GatewaySettings = NonNullable<Validated['gateway']>;
export type ExperimentSettings = NonNullable<Validated['experiments']>[number];
export type PipelineSettings = NonNullable<Validated['pipelines']>[number];
export type PhaseSettings = PipelineSettings['phases'][number];
export type ProfileSettings = NonNullable<Validated['profiles']>[number];
export type Strategy = (typeof STRATEGIES)[number];
