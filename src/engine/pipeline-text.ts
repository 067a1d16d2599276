/**
 * A pipeline phase's text: its instructions rendered over the input and earlier outputs (each cut
 * to the context budget by a stated rule), its condition on an earlier output, and the key its
 * output is cached under.
 */
import { createHash } from 'node:crypto';

import type { PhaseSettings } from '../config/index.js';

/** Characters per token for the context budget (the router's length estimate uses the same ratio). */
const CHARS_PER_TOKEN = 4;

/**
 * An earlier output cut to `tokens` (≈ 4 characters each): its first three quarters and its last
 * quarter, with a marker saying how much was left out between — beginnings carry the structure,
 * endings the conclusion.
 */
export function truncateContext(text: string, tokens: number): string {
  const max = tokens * CHARS_PER_TOKEN;
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.75);
  const tail = max - head;
  return `${text.slice(0, head)}\n[… ${text.length - max} characters left out …]\n${text.slice(text.length - tail)}`;
}

/** `{{input}}` and `{{phases.<name>.output}}` (alternatives joined by `||`: the first not empty). */
export function render(
  template: string,
  input: string,
  outputs: ReadonlyMap<string, string>,
  contextTokens: number,
): string {
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, expr: string) => {
    for (const v of expr.split('||').map((x) => x.trim())) {
      const text = v === 'input' ? input : (outputs.get(/^phases\.([a-z0-9_-]+)\.output$/.exec(v)?.[1] ?? '') ?? '');
      if (text) return v === 'input' ? text : truncateContext(text, contextTokens);
    }
    return '';
  });
}

/** Whether a phase's `when` holds on the outputs and verdicts so far (a phase that did not run has output '' and no verdict). */
export function conditionHolds(
  when: PhaseSettings['when'],
  outputs: ReadonlyMap<string, string>,
  verdicts: ReadonlyMap<string, string> = new Map(),
): boolean {
  if (!when) return true;
  // pass: the reward phase passed; fail: it did not (a failed verdict, or none: it could not score)
  if (when.verdict !== undefined && (verdicts.get(when.phase) === 'pass') !== (when.verdict === 'pass')) return false;
  const text = outputs.get(when.phase) ?? '';
  if (when.matches !== undefined && !new RegExp(when.matches, 'm').test(text)) return false;
  if (when.notMatches !== undefined && new RegExp(when.notMatches, 'm').test(text)) return false;
  return true;
}

/** The cache key of a phase's output: the pipeline, the phase, the model choice and the rendered prompt. */
export function cacheKey(pipeline: string, phase: string, model: string, prompt: string, maxTokens?: number): string {
  return createHash('sha256')
    .update(JSON.stringify([pipeline, phase, model, maxTokens ?? null, prompt]))
    .digest('base64url');
}
