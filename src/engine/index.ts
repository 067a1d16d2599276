export { Router, createRouter, type Learned, type RouterParts } from './router.js';
export { COST_WEIGHTS, predictRecords, shuffle, train, type TrainedRouter, type TrainOptions, type TrainReport } from './train.js';
export { saveRouterModel, loadRouterModel } from './model.js';
export { costMatrix, evaluateCV, evaluateSplit, KNOWN_PRICES, QUALITY_TARGETS, TARGETS, type EvalOptions, type EvalResult, type Prices } from './evaluate.js';
export { decodeRequest, defaultRewards, loadRewards, estimateCallCost, gatedGenerate, DECODE_STRATEGIES, type DecodeOutcome, type DecodeRequestOptions, type DecodeStrategy, type Rewards } from './decode.js';
