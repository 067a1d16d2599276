export { decide, checkRouteOptions } from './decide.js';
export { choose, type Choice } from './strategy.js';
export { LoadTracker } from './load.js';
export { predict, priorQuality, estimateInputTokens, OUTPUT_TOKENS, PRIOR_WEIGHT } from './predict.js';
export type { Candidate, CostTable, Decision, NeighbourVote, Prediction, RouteOptions } from './types.js';
