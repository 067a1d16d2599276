/**
 * An LLM judge for comparisons (one of the configured models): a single-answer rubric score, and
 * pairwise verdicts asked in both orders — A/B, then B/A — so position bias cancels: a model wins
 * a pair only when the judge prefers its answer in both orders; split or tied verdicts are ties
 * (Zheng et al., "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena", NeurIPS 2023, §3.3 —
 * the conservative swap rule).
 */
import type { Arbiter } from '../engine/index.js';

const RUBRIC =
  'You are grading an answer to a request. Judge correctness first, then completeness and clarity.\n' +
  'Reply with one integer from 1 (useless or wrong) to 10 (correct, complete, clear), and nothing else.\n\n';

const PAIR =
  'Two assistants answered the same request. Which answer is better — more correct first, then more complete and clearer?\n' +
  'Reply with exactly one of: A, B, tie.\n\n';

async function ask(engine: Arbiter, judge: string, content: string, signal?: AbortSignal): Promise<string> {
  const r = await engine.complete(
    { model: judge, stream: false, temperature: 0, max_tokens: 8, messages: [{ role: 'user', content }] },
    signal ? { signal } : {},
  );
  return (r.response.choices[0]?.message.content ?? '').trim();
}

/** The rubric score mapped onto [0, 1] ((n − 1) / 9), or undefined when the reply holds no 1–10. */
export async function judgeSingle(
  engine: Arbiter,
  judge: string,
  prompt: string,
  answer: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const reply = await ask(engine, judge, `${RUBRIC}Request:\n${prompt}\n\nAnswer:\n${answer}`, signal);
  const n = Number(/\b(10|[1-9])\b/.exec(reply)?.[1]);
  return Number.isFinite(n) ? (n - 1) / 9 : undefined;
}

const verdict = (reply: string): 'A' | 'B' | 'tie' | undefined => {
  const m = /^\W*(tie|a|b)\b/i.exec(reply);
  if (!m) return undefined;
  const v = m[1]!.toLowerCase();
  return v === 'tie' ? 'tie' : v === 'a' ? 'A' : 'B';
};

/** Which of two answers the judge prefers, asked in both orders: a wins only if preferred both times. */
export async function judgePair(
  engine: Arbiter,
  judge: string,
  prompt: string,
  a: string,
  b: string,
  signal?: AbortSignal,
): Promise<'a' | 'b' | 'tie'> {
  const body = (x: string, y: string) => `${PAIR}Request:\n${prompt}\n\nAnswer A:\n${x}\n\nAnswer B:\n${y}`;
  const [first, second] = await Promise.all([
    ask(engine, judge, body(a, b), signal).then(verdict),
    ask(engine, judge, body(b, a), signal).then(verdict),
  ]);
  if (first === 'A' && second === 'B') return 'a';
  if (first === 'B' && second === 'A') return 'b';
  return 'tie';
}
