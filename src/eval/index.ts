export { loadRouterBench, loadRouteLLM, loadJsonl, taskFromEvalName } from './datasets.js';
export { aiq, cheapestReaching, convexHull, hullQualityAt, pgr, pgrCurve, type CurvePoint } from './curve.js';
export { curveSvg, markdownReport, reliabilitySvg, type ReportInput } from './report.js';
export { evaluateDecoding, type DecodingPoint, type DecodingResult } from './decoding.js';
export { evaluateCV, evaluateSplit, type EvalOptions, type EvalResult } from './router.js';
export { costMatrix } from './costs.js';
export { KNOWN_PRICES, QUALITY_TARGETS, TARGETS, type Prices, type Target } from './targets.js';
export type { OutcomeRecord } from '../learn/index.js';
export { cascadePipeline } from './cascade-pipeline.js';
