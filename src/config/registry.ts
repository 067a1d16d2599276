/**
 * The configured models, by id. Immutable: a config reload builds a new registry. API keys are
 * read from the environment when asked for, never stored here, never logged.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ArbiterConfig, ModelSpec, RoutingSettings } from './types.js';

export class ModelRegistry {
  private readonly byId: ReadonlyMap<string, ModelSpec>;
  readonly routing: RoutingSettings;
  readonly source: string;

  constructor(config: ArbiterConfig) {
    this.byId = new Map(config.models.map((m) => [m.id, m]));
    this.routing = config.routing;
    this.source = config.source;
  }

  get size(): number {
    return this.byId.size;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  list(): ModelSpec[] {
    return [...this.byId.values()];
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The model, or ARB_NOT_FOUND naming the configured ids. */
  get(id: string): ModelSpec {
    const m = this.byId.get(id);
    if (!m)
      throw new ArbiterError(ErrorCodes.NOT_FOUND, `unknown model '${id}'; configured: ${this.ids().join(', ')}`, {
        param: 'model',
      });
    return m;
  }

  /** The model's API key from its apiKeyEnv variable (undefined when none is configured). */
  apiKey(id: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
    const name = this.get(id).provider.apiKeyEnv;
    return name === undefined ? undefined : env[name];
  }

  /** Environment variables named by apiKeyEnv that are unset: a server checks this at start-up. */
  missingSecrets(env: NodeJS.ProcessEnv = process.env): Array<{ model: string; variable: string }> {
    return this.list()
      .filter((m) => m.provider.apiKeyEnv !== undefined && !env[m.provider.apiKeyEnv])
      .map((m) => ({ model: m.id, variable: m.provider.apiKeyEnv! }));
  }
}
