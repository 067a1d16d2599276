/**
 * The interface every decoding strategy implements (one per file: best-of-n, vote, cascade,
 * guided), and what the engine hands it: the request, one gated `generate`, the limits, the
 * request's options, the rewards, and the routing decision reduced to what decoding needs.
 */
import type { DecodeOptions, DecodingSettings } from '../config/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ChatRequest } from '../providers/index.js';
import type { OutcomeReward, ScoreContext } from '../reward/index.js';
import type { Rewards } from './rewards.js';
import type { DecodeLimits, DecodeResult, Generate } from './types.js';

/** The routing decision as decoding sees it. */
export interface DecodePlan {
  task: string;
  /** The router's pick. */
  model: string;
  /** Eligible models, best-scored first. */
  eligible: readonly string[];
  quality: (model: string) => number | undefined;
  cost: (model: string) => number | undefined;
  /** Whether a model is configured. */
  has: (model: string) => boolean;
}

export interface StrategyInput {
  generate: Generate;
  chat: ChatRequest;
  limits: DecodeLimits;
  options: DecodeOptions;
  rewards: Rewards;
  ctx: ScoreContext;
  plan: DecodePlan;
  defaults: DecodingSettings;
}

export interface DecodingStrategy {
  readonly name: DecodeResult['strategy'];
  run(input: StrategyInput): Promise<DecodeResult>;
}

/** The outcome reward a request names, else the learned head when configured, else the verifier. */
export function outcomeReward(input: Pick<StrategyInput, 'options' | 'rewards'>): OutcomeReward {
  const name = input.options.reward ?? (input.rewards.outcome.has('head') ? 'head' : 'verifier');
  const r = input.rewards.outcome.get(name);
  if (!r)
    throw new ArbiterError(
      ErrorCodes.INVALID_REQUEST,
      `arbiter.reward ${JSON.stringify(name)} is not configured (have: ${[...input.rewards.outcome.keys()].join(', ')})`,
      { param: 'arbiter.reward' },
    );
  return r;
}
