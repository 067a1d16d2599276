/** The comparison bench: models side by side on the same prompts, scored, ranked with significance. */
export { analyzeComparison, DEFAULT_WEIGHTS } from './analyze.js';
export { assertionScore, checkAssertion, type Assertion } from './assertions.js';
export { compare, writeReports, type CompareOptions } from './compare.js';
export { checkJudge, checkModels, checkWeights, parseCases, parseWeights, readTests, type TestsFile } from './input.js';
export { compareHtml, compareMarkdown, compareTable, paretoSvg, winMatrixSvg } from './report.js';
export { replayRecords, replayRouterBench } from './replay.js';
export { resultKey, runComparison, type RunOptions } from './run.js';
export type {
  CallResult,
  CompareCase,
  CompareReport,
  Judgment,
  ModelSummary,
  PairResult,
  ScoreWeights,
} from './types.js';
export { judgePair, judgeSingle } from './judge.js';
