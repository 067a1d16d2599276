/**
 * Decisions in few bytes: the fields a caller names (`--fields`, `?fields=`), or the compact set —
 * what most batch callers need (~150 bytes instead of the full decision's ~2 KB).
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { Decision } from './types.js';

const FIELDS = {
  model: (d: Decision) => d.model,
  task: (d: Decision) => d.task.label,
  confidence: (d: Decision) => d.confidence,
  quality: (d: Decision) => d.predicted.quality,
  cost: (d: Decision) => d.predicted.cost,
  latencyMs: (d: Decision) => d.predicted.latencyMs,
  fallbacks: (d: Decision) => d.fallbacks,
  strategy: (d: Decision) => d.strategy,
  reason: (d: Decision) => d.reason,
} as const;

export type DecisionField = keyof typeof FIELDS;
export const DECISION_FIELDS = Object.keys(FIELDS) as DecisionField[];
export const COMPACT_FIELDS: readonly DecisionField[] = [
  'model',
  'task',
  'confidence',
  'quality',
  'cost',
  'latencyMs',
  'fallbacks',
];

/** The field list a caller gave ("model,confidence"), checked; INVALID_ARGUMENT naming the unknown ones. */
export function parseFields(list: string, param = 'fields'): DecisionField[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(n in FIELDS));
  if (!names.length || unknown.length)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `${param}: ${unknown.length ? `unknown ${unknown.join(', ')}` : 'empty'} (fields: ${DECISION_FIELDS.join(', ')})`,
      { param },
    );
  return [...new Set(names)] as DecisionField[];
}

/** The decision's named fields (default: the compact set). */
export function pickDecision(d: Decision, fields: readonly DecisionField[] = COMPACT_FIELDS): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = FIELDS[f](d);
  return out;
}
