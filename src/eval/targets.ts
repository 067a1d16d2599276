/**
 * What an evaluation aims at and prices it with: the quality targets of the cost curve, the
 * operating-point goals relative to the best single model, and list prices for datasets that
 * record no costs (RouteLLM's), named here rather than written into the code.
 */

export const QUALITY_TARGETS = [0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

/** USD per 1,000 tokens, for datasets without observed costs (list prices; an estimate). */
export type Prices = Record<string, { inputPer1k: number; outputPer1k: number }>;
export const KNOWN_PRICES: Prices = {
  'gpt-4-1106-preview': { inputPer1k: 0.01, outputPer1k: 0.03 },
  'mistralai/Mixtral-8x7B-Instruct-v0.1': { inputPer1k: 0.0006, outputPer1k: 0.0006 },
};

export interface Target {
  name: string;
  /** Goal relative to the best single model's quality on the data it is chosen on. */
  goal: (best: number) => number;
}
export const TARGETS: Target[] = [
  { name: '95% of the best single model', goal: (b) => 0.95 * b },
  { name: 'the best single model minus one point', goal: (b) => b - 0.01 },
];
