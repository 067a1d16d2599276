/**
 * Prompt analysis: find the actual question (few-shot prompts), measure it, score its
 * complexity, and classify its task type. Without a trained task head the task comes from
 * keyword rules, and the result says so (`task.source: 'keywords'`).
 */
import { extractQuestion, type FewShot } from './few-shot.js';
import { features, featureVector, FEATURE_NAMES, type Features, type Script } from './features.js';
import { classifyByRules, DEFAULT_RULES, TASK_TYPES, type TaskRule, type TaskType } from './rules.js';
import type { PromptAnalysis } from './types.js';
import { complexityOf } from './complexity.js';

export type { PromptAnalysis } from './types.js';

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
export { complexityOf };
export {
  analyzeNative,
  analysisAt,
  characterClasses,
  featuresAt,
  nativeAnalyzer,
  NATIVE_FEATURES,
  NATIVE_RULE_PATTERNS,
} from './native.js';
export { ruleMatchCounts, scoreRules } from './rules.js';
