/**
 * Voting over candidate answers: each candidate's final answer is extracted (choice letter or
 * number; for free text, its normalised text), answers are scored by the summed weights of the
 * candidates giving them, and the winner is the best-weighted candidate with the top answer.
 */
import { extractAnswer, type AnswerKind } from './verify.js';
import { dict } from '../names.js';

export interface VoteCandidate {
  model: string;
  content: string;
  /** >= 0: e.g. the log-odds of the model's predicted quality on this prompt. */
  weight: number;
}

export interface VoteResult {
  /** Index of the chosen candidate. */
  winner: number;
  answers: Array<string | null>;
  /** Total weight per answer. */
  tally: Record<string, number>;
}

const freeText = (s: string) =>
  s
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/[.!\s]+$/, '')
    .trim();

export function vote(cands: readonly VoteCandidate[], kind: AnswerKind | 'text', prompt?: string): VoteResult {
  if (!cands.length) throw new RangeError('vote needs at least one candidate');
  const answers = cands.map((c) =>
    kind === 'text' ? freeText(c.content) || null : extractAnswer(c.content, kind, prompt),
  );
  const tally: Record<string, number> = dict();
  answers.forEach((a, i) => {
    if (a !== null) tally[a] = (tally[a] ?? 0) + Math.max(0, cands[i]!.weight);
  });
  const byWeight = cands.map((_, i) => i).sort((a, b) => cands[b]!.weight - cands[a]!.weight);
  const top = Object.entries(tally).sort((a, b) => b[1] - a[1])[0]?.[0];
  const winner = top === undefined ? byWeight[0]! : byWeight.find((i) => answers[i] === top)!;
  return { winner, answers, tally };
}
