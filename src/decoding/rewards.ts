/** The rewards a decoding request may name: outcome rewards (whole answers) and process rewards (steps). */
import { VerifierReward, type OutcomeReward, type ProcessReward } from '../reward/index.js';

export interface Rewards {
  outcome: Map<string, OutcomeReward>;
  process: Map<string, ProcessReward>;
}

/** The verifier, plus whatever the config adds. */
export function defaultRewards(
  extra: { outcome?: Record<string, OutcomeReward>; process?: Record<string, ProcessReward> } = {},
): Rewards {
  const v = new VerifierReward();
  return {
    outcome: new Map<string, OutcomeReward>([['verifier', v], ...Object.entries(extra.outcome ?? {})]),
    process: new Map<string, ProcessReward>([['verifier', v], ...Object.entries(extra.process ?? {})]),
  };
}
