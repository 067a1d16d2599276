/**
 * Prompt analysis: find the actual question (few-shot prompts), measure it, score its
 * complexity, and classify its task type. Without a trained task head the task comes from
 * keyword rules, and the result says so (`task.source: 'keywords'`).
 */
import { extractQuestion, type FewShot } from './few-shot.js';
import { features, featureVector, FEATURE_NAMES, type Features, type Script } from './features.js';
import { classifyByRules, DEFAULT_RULES, TASK_TYPES, type TaskRule, type TaskType } from './rules.js';
import type { PromptAnalysis } from './types.js';

export type { PromptAnalysis } from './types.js';

/** Heuristic complexity prior in [0, 1]; weights are hand-set, to be replaced by learned ones. */
export function complexityOf(f: Features, examples = 0): number {
  const z =
    -3 +
    0.45 * Math.log1p(f.words) +
    0.5 * Math.min(4, f.reasoningCues) +
    0.25 * Math.min(6, f.constraints) +
    0.3 * Math.min(5, f.mathDensity) +
    1.2 * f.codeLineShare +
    0.4 * Math.min(3, f.codeBlocks) +
    0.1 * Math.min(10, f.sentences) -
    0.1 * Math.min(5, examples);
  return 1 / (1 + Math.exp(-z));
}

export function analyze(prompt: string, rules: Record<string, TaskRule> = DEFAULT_RULES): PromptAnalysis {
  const text = typeof prompt === 'string' ? prompt : String(prompt);
  const fewShot = extractQuestion(text);
  const f = features(fewShot.question);
  return {
    fewShot,
    features: f,
    complexity: complexityOf(f, fewShot.examples),
    task: { ...classifyByRules(fewShot.question, f, rules), source: 'keywords' },
  };
}

export {
  applyHead,
  softmax,
  softmaxInto,
  headInput,
  headInputDim,
  mixTaskDistribution,
  type AnalysisHead,
  type HeadOutput,
} from './head.js';
export { extractQuestion, features, featureVector, FEATURE_NAMES, classifyByRules, DEFAULT_RULES, TASK_TYPES };
export type { FewShot, Features, Script, TaskRule, TaskType };
export { normalisedEntropy, OOD_LEVEL, OodDetector, upperPValue, type OodFile, type OodScore } from './ood.js';
