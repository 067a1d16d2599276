export { Router, createRouter, type RouterParts } from './router.js';
export { LoadTracker } from './load.js';
export { predict, priorQuality, estimateInputTokens, OUTPUT_TOKENS } from './predict.js';
export type { Candidate, Decision, Prediction, RouteOptions } from './types.js';
