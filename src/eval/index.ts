export { loadRouterBench, loadRouteLLM, loadJsonl, normalizePrompt, taskFromEvalName, unwrapPythonList, type OutcomeRecord } from './datasets.js';
export { rocAuc, mean } from './metrics.js';
export { aiq, calibration, cheapestReaching, convexHull, hullQualityAt, pairedBootstrap, pgr, pgrCurve, seededRandom, type CurvePoint } from './curve.js';
export { curveSvg, markdownReport, reliabilitySvg, type ReportInput } from './report.js';
export { evaluateDecoding, type DecodingPoint, type DecodingResult } from './decoding.js';
