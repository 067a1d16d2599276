import { ArbiterError, ErrorCodes } from '../errors.js';
import type { OutcomeRecord } from '../learn/index.js';
import { estimateInputTokens, OUTPUT_TOKENS } from '../router/index.js';
import type { Prices } from './targets.js';

const bad = (msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, msg, { param: 'data' });
};

/**
 * Per record and model: the observed cost; else the record's token counts for that model × its
 * list price; else tokens estimated from the prompt's length and the task × the list price.
 */
export function costMatrix(
  records: readonly OutcomeRecord[],
  models: readonly string[],
  prices: Prices,
): { cost: number[][]; source: 'observed' | 'token counts × list prices' | 'estimated from list prices' } {
  const observed = records.every((r) => models.every((m) => r.costs[m] !== undefined));
  if (observed) return { cost: records.map((r) => models.map((m) => r.costs[m]!)), source: 'observed' };
  const missing = models.filter((m) => !prices[m]);
  if (missing.length)
    bad(
      `no costs in the data and no prices for ${missing.join(', ')} (give --config with these models and their cost.inputPer1k and outputPer1k)`,
    );
  let estimated = false;
  const cost = records.map((r) => {
    const inTok = estimateInputTokens(r.prompt);
    const outTok = OUTPUT_TOKENS[r.task ?? ''] ?? 250;
    return models.map((m) => {
      if (r.costs[m] !== undefined) return r.costs[m];
      const t = r.tokens?.[m];
      if (!t) estimated = true;
      const [pt, ct] = t ? [t.prompt, t.completion] : [inTok, outTok];
      return (pt / 1000) * prices[m]!.inputPer1k + (ct / 1000) * prices[m]!.outputPer1k;
    });
  });
  return { cost, source: estimated ? 'estimated from list prices' : 'token counts × list prices' };
}
