export { Arbiter, type EngineParts, type RequestOptions } from './arbiter.js';
export { createArbiter, openConfiguredStore, type ArbiterParts } from './create.js';
export {
  parseModel,
  PlanFailed,
  type Completion,
  type CompletionMeta,
  type CompletionStream,
  type CompleteRequest,
} from './complete.js';
export {
  checkDecodeOptions,
  decodeRequest,
  strategyForTask,
  type DecodeContext,
  type DecodeOutcome,
} from './decode.js';
export { callCost, estimateCallCost, gatedGenerate } from './generate.js';
export {
  OutcomeRecorder,
  type CallRecord,
  type DecisionSummary,
  type OutcomeEvent,
  type OutcomeListener,
  type RequestKind,
} from './outcome.js';
export { loadRewards } from './rewards.js';
export {
  PIPELINE_CACHE_ENTRIES,
  runPipeline,
  streamable,
  type PhaseEvent,
  type PhaseResult,
  type PipelineContext,
  type PipelineRun,
  type RunOptions,
} from './pipeline.js';
export { type PipelineCompletion } from './pipeline-complete.js';
