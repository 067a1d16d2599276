/**
 * Building an engine from a config: the router (and a trained router model), every model's
 * provider and gate, the rewards, the outcome store and the experiments; then what the store
 * remembers (learned points, profiles, drift) is replayed into it.
 */
import { dirname, resolve } from 'node:path';

import { selectBackend, type ComputeBackend } from '../compute/index.js';
import { loadConfig, validateConfig, type ArbiterConfig, type StoreSettings } from '../config/index.js';
import type { Embedder } from '../embed/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { Experiments } from '../experiments/index.js';
import { createUpstreams, type GateOptions } from '../providers/index.js';
import { createRouter } from '../router/index.js';
import { OutcomeStore } from '../store/index.js';
import { Arbiter } from './arbiter.js';
import { loadArmRouters } from './arm-routers.js';
import { experimentChecker } from './experiment.js';
import { loadRewards } from './rewards.js';

export interface ArbiterParts {
  backend?: ComputeBackend;
  embedder?: Embedder;
  /** Gate settings for every model (tests shorten backoffs and cool-downs). */
  gate?: Partial<GateOptions>;
  /** Where API keys are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** How long close() waits for requests in flight (default 30 s). */
  drainTimeoutMs?: number;
  /** The engine this one replaces (a reload): models that remain keep their gates' state. */
  previous?: Arbiter;
  /** An outcome store already open (instead of the config's `store`). */
  store?: OutcomeStore;
}

/** An engine assembled from parts already built (a router, its upstreams, rewards). */
/**
 * An engine from a config (a file path, or an object validated like one): its router (and trained
 * router model, if the config names one), every model's provider and gate, and its rewards.
 */
export async function createArbiter(
  config: string | ArbiterConfig | Record<string, unknown>,
  parts: ArbiterParts = {},
): Promise<Arbiter> {
  let cfg: ArbiterConfig;
  if (typeof config === 'string') cfg = await loadConfig(config);
  else {
    const { source, ...rest } = config as Record<string, unknown>;
    cfg = validateConfig(rest, typeof source === 'string' ? source : 'config');
  }
  const backend = parts.backend ?? (await selectBackend()).backend;
  const router = await createRouter(cfg, { backend, ...(parts.embedder ? { embedder: parts.embedder } : {}) });
  const upstreams = await createUpstreams(cfg, parts.env ?? process.env, parts.gate ?? {}, parts.previous?.upstreams);
  const rewards = await loadRewards(cfg, backend, upstreams, router.registry);
  const store = parts.store ?? (await openConfiguredStore(cfg, typeof config === 'string', parts.env ?? process.env));
  if (cfg.experiments.length && !store)
    throw new ArbiterError(
      ErrorCodes.INVALID_CONFIG,
      'experiments need an outcome store: their assignments, outcomes and ratings live there (set store.url)',
      { param: 'store.url' },
    );
  // with a store there are always experiments: the config's, and those created through the admin API
  const experiments = store ? await Experiments.load(cfg.experiments, store, experimentChecker(cfg)) : undefined;
  const armRouters = await loadArmRouters(cfg, experiments?.defs ?? [], backend);
  const arbiter = new Arbiter({
    router,
    upstreams,
    rewards,
    config: cfg,
    backend,
    ...(store ? { store } : {}),
    ...(experiments ? { experiments } : {}),
    armRouters,
    ...(parts.drainTimeoutMs !== undefined ? { drainTimeoutMs: parts.drainTimeoutMs } : {}),
  });
  await arbiter.replayLearned();
  await arbiter.rebuildProfiles();
  return arbiter;
}

/**
 * The config's outcome store: its `store` section, or — for a config read from a file and with no
 * `store` section — `sqlite:./arbiter.db` beside the file; an in-memory config without one records nothing.
 */
export async function openConfiguredStore(
  cfg: ArbiterConfig,
  fromFile: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OutcomeStore | undefined> {
  const s: Partial<StoreSettings> | undefined = cfg.store ?? (fromFile ? { url: 'sqlite:./arbiter.db' } : undefined);
  if (!s) return undefined;
  const url = s.url ?? (s.urlEnv ? '' : 'sqlite:./arbiter.db');
  return OutcomeStore.open({ ...s, url }, { baseDir: fromFile ? dirname(resolve(cfg.source)) : process.cwd(), env });
}
