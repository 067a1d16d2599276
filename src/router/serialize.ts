/**
 * Decisions as JSON through a serializer compiled from their schema (fast-json-stringify, the one
 * Fastify compiles response schemas with): the same text JSON.parse reads back as
 * `JSON.stringify` would give, faster — `arbiter route` writes one per prompt, /v1/route one per
 * request. The schema is the Decision type's shape: a top-level field added to the type and not
 * here is a compile error (`DecisionSchemaCheck` below), not a silently dropped key.
 */
import fastJson from 'fast-json-stringify';

import type { Decision } from './types.js';

const num = { type: 'number' } as const;
const int = { type: 'integer' } as const;
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const numbers = { type: 'object', additionalProperties: num } as const;

const obj = (properties: Record<string, unknown>, optional: readonly string[] = []) => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
});

const FEATURES = obj({
  chars: int,
  words: int,
  lines: int,
  sentences: int,
  codeBlocks: int,
  codeLineShare: num,
  mathDensity: num,
  numbers: int,
  questionMarks: int,
  isQuestion: bool,
  listItems: int,
  options: int,
  script: str,
  nonLatinShare: num,
  englishShare: num,
  constraints: int,
  reasoningCues: int,
});

const CANDIDATE = obj(
  {
    model: str,
    quality: num,
    qualityStderr: num,
    qualitySource: str,
    inputTokens: num,
    outputTokens: num,
    cost: num,
    latencyMs: num,
    score: num,
    eligible: bool,
    excluded: str,
    saturated: bool,
  },
  ['excluded'],
);

/** The JSON Schema of a Decision. */
export const DECISION_SCHEMA = obj({
  model: str,
  strategy: str,
  predicted: obj({ quality: num, qualityStderr: num, cost: num, latencyMs: num }),
  confidence: num,
  alternatives: { type: 'array', items: CANDIDATE },
  fallbacks: { type: 'array', items: str },
  task: obj({ label: str, confidence: num, distribution: numbers, source: str }),
  analysis: obj(
    {
      fewShot: obj({ detected: bool, examples: int, question: str, template: { type: 'array', items: str } }),
      features: FEATURES,
      complexity: num,
      task: obj({ label: str, confidence: num, scores: numbers, source: str }),
      difficulty: obj({ value: num, byTask: numbers }),
    },
    ['difficulty'],
  ),
  reason: str,
});

const compiled = fastJson(DECISION_SCHEMA as never);

/**
 * A decision as JSON — with `id` first when given (a request id, or the caller's id of a prompt:
 * a string or a number, written as JSON.stringify writes it): what `JSON.stringify({ id, ...d })`
 * gives, read back.
 */
export function decisionJson(d: Decision, id?: string | number): string {
  let body: string;
  try {
    body = compiled(d);
  } catch {
    body = JSON.stringify(d); // a non-finite number (the compiled serializer refuses it; JSON writes null)
  }
  return id === undefined ? body : `{"id":${JSON.stringify(id)},${body.slice(1)}`;
}

// every top-level key of Decision has a place in the schema: a new field fails to compile here until
// the schema names it (nested shapes are held to JSON.stringify's output by the tests)
type Keys<T> = T extends readonly (infer U)[] ? Keys<U> : T extends object ? keyof T : never;
type Covered = keyof typeof DECISION_SCHEMA.properties;
export type DecisionSchemaCheck = [Exclude<Keys<Decision>, Covered>] extends [never] ? true : never;
const _covered: DecisionSchemaCheck = true;
void _covered;
