export { Router, createRouter, type Learned, type LearnedPoint, type RouterParts } from './router.js';
export { loadRouterModel, type HeadFile, type RouterModelParts } from './artefact.js';
export { decide, checkRouteOptions, type DecideInputs } from './decide.js';
export { choose, logSpan, type Choice } from './strategy.js';
export { LoadTracker } from './load.js';
export {
  predict,
  priorQuality,
  shrunkQuality,
  estimateInputTokens,
  OUTPUT_TOKENS,
  PRIOR_WEIGHT,
  type PredictInputs,
} from './predict.js';
export { calibratedQuality, fitCapability, type Capability, type QualityCalibration } from './quality.js';
export type { Candidate, CostTable, Decision, NeighbourVote, Prediction, RouteOptions } from './types.js';
export { COMPACT_FIELDS, DECISION_FIELDS, parseFields, pickDecision, type DecisionField } from './compact.js';
