/**
 * Reward-guided decoding: strategies over any chat-completion function, one per file behind one
 * interface (DecodingStrategy), with the budget/deadline ledger and the job scheduler as modules.
 */
import { bestOfNDecoding, weightedBestOfNDecoding } from './best-of-n.js';
import { cascadeDecoding } from './cascade.js';
import { guidedDecoding } from './guided.js';
import type { DecodingStrategy } from './strategy.js';
import { voteDecoding } from './vote.js';

/** Every strategy by name: adding one is a file and a line here. */
export const DECODING_STRATEGIES: ReadonlyMap<DecodingStrategy['name'], DecodingStrategy> = new Map(
  [bestOfNDecoding, weightedBestOfNDecoding, voteDecoding, cascadeDecoding, guidedDecoding].map((s) => [s.name, s]),
);

export { bestOfN, type BestOfNOptions } from './best-of-n.js';
export { voteDecode, type VoteDecodeOptions } from './vote.js';
export { cascade, type CascadeOptions } from './cascade.js';
export { guidedSearch, type GuidedOptions } from './guided.js';
export { textSimilarity } from './common.js';
export { defaultRewards, type Rewards } from './rewards.js';
export { outcomeReward, type DecodePlan, type DecodingStrategy, type StrategyInput } from './strategy.js';
export type { DecodeLimits, DecodeResult, Generate, Generation, ScoredCandidate, StopReason } from './types.js';
