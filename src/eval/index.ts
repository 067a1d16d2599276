export { loadRouterBench, loadRouteLLM, loadJsonl, taskFromEvalName } from './datasets.js';
export { aiq, cheapestReaching, convexHull, hullQualityAt, pgr, pgrCurve, type CurvePoint } from './curve.js';
export { curveSvg, markdownReport, reliabilitySvg, type ReportInput } from './report.js';
export { evaluateDecoding, type DecodingPoint, type DecodingResult } from './decoding.js';
export { costMatrix, evaluateCV, evaluateSplit, KNOWN_PRICES, QUALITY_TARGETS, TARGETS, type EvalOptions, type EvalResult, type Prices } from './router.js';
export type { OutcomeRecord } from '../learn/index.js';
