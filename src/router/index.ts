export { decide, checkRouteOptions } from './decide.js';
export { choose, type Choice } from './strategy.js';
export { LoadTracker } from './load.js';
export { predict, priorQuality, estimateInputTokens, OUTPUT_TOKENS } from './predict.js';
export type { Candidate, Decision, NeighbourVote, Prediction, RouteOptions } from './types.js';
