/**
 * arbiter: route every prompt to the model that answers it best for the money, call it, record
 * what happened, learn from the outcome. The engine (createArbiter) is the front door; the
 * gateway is `arbiter/server`, training `arbiter/learn`, evaluation `arbiter/eval`, the compute
 * core `arbiter/compute`.
 */
export {
  Arbiter,
  createArbiter,
  type ArbiterParts,
  type CallRecord,
  type Completion,
  type CompletionStream,
  type CompleteRequest,
  type DecodeOutcome,
  type DecisionSummary,
  type EngineParts,
  type OutcomeEvent,
  type PhaseResult,
  type PipelineRun,
  type RequestOptions,
} from './engine/index.js';
export {
  loadConfig,
  parseConfig,
  validateConfig,
  type ArbiterConfig,
  type ArbiterOption,
  type DecodeOptions,
  type DecodeStrategy,
  type ModelSpec,
  type PipelineSettings,
  type RouteOptions,
  type Strategy,
} from './config/index.js';
export { ArbiterError, ERROR_CATALOGUE, ErrorCodes, httpStatus, isArbiterError, type ErrorCode } from './errors.js';
export { Router, createRouter, type Decision, type Candidate } from './router/index.js';
export type { ChatChunk, ChatCompletion, ChatMessage, ChatRequest } from './providers/index.js';
export type { DecodeResult } from './decoding/index.js';
