import { ArbiterError, ErrorCodes } from '../errors.js';
import type { OutcomeRecord } from '../learn/index.js';
import { estimateInputTokens, OUTPUT_TOKENS } from '../router/index.js';
import type { Prices } from './targets.js';

const bad = (msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, msg, { param: 'data' });
};

/** Per record and model: the observed cost, else tokens × list price. */
export function costMatrix(
  records: readonly OutcomeRecord[],
  models: readonly string[],
  prices: Prices,
): { cost: number[][]; source: 'observed' | 'estimated from list prices' } {
  const observed = records.every((r) => models.every((m) => r.costs[m] !== undefined));
  if (observed) return { cost: records.map((r) => models.map((m) => r.costs[m]!)), source: 'observed' };
  const missing = models.filter((m) => !prices[m]);
  if (missing.length)
    bad(
      `no costs in the data and no prices for ${missing.join(', ')} (give --config with these models and their cost.inputPer1k and outputPer1k)`,
    );
  return {
    cost: records.map((r) => {
      const inTok = estimateInputTokens(r.prompt);
      const outTok = OUTPUT_TOKENS[r.task ?? ''] ?? 250;
      return models.map(
        (m) => r.costs[m] ?? (inTok / 1000) * prices[m]!.inputPer1k + (outTok / 1000) * prices[m]!.outputPer1k,
      );
    }),
    source: 'estimated from list prices',
  };
}
