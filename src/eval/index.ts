export { loadRouterBench, loadRouteLLM, loadJsonl, normalizePrompt, taskFromEvalName, unwrapPythonList, type OutcomeRecord } from './datasets.js';
export { rocAuc, mean } from './metrics.js';
