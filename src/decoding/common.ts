/** Helpers the strategies share: answer keys, settled majorities, sampling jobs, scoring, the result. */
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ChatRequest } from '../providers/index.js';
import { answerExtractor, type OutcomeReward, type ResponseCandidate, type ScoreContext } from '../reward/index.js';
import type { Ledger } from './ledger.js';
import type { Job } from './scheduler.js';
import type { DecodeResult, Generation, StopReason } from './types.js';

/** Word-bigram Jaccard similarity (the diversity penalty's measure). */
export function textSimilarity(a: string, b: string): number {
  const grams = (s: string) => {
    const w = s.toLowerCase().split(/\W+/).filter(Boolean);
    return new Set(w.length < 2 ? w : w.slice(1).map((x, i) => `${w[i]} ${x}`));
  };
  const A = grams(a);
  const B = grams(b);
  if (!A.size && !B.size) return 1;
  let inter = 0;
  for (const g of A) if (B.has(g)) inter++;
  return inter / (A.size + B.size - inter);
}

export const answerKey = (prompt: string, ctx: ScoreContext | undefined) =>
  answerExtractor(prompt, ctx?.task, ctx?.answerKind);

/** Count-majority settled: the leading answer cannot be overtaken by the calls still to come. */
export function majoritySettled(key: (c: string) => string | null, done: Generation[], left: number): boolean {
  const counts = new Map<string, number>();
  for (const g of done) {
    const a = key(g.content);
    if (a !== null) counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  const [first = 0, second = 0] = [...counts.values()].sort((a, b) => b - a);
  return first > 0 && first - second > left;
}

export function checkModels(models: readonly string[], what: string): void {
  if (!models.length)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${what} needs at least one model`, { param: 'models' });
}

export function sampleJobs(
  chat: ChatRequest,
  models: readonly string[],
  n: number,
  temperature: number | undefined,
): Job[] {
  const { n: _n, ...base } = chat;
  return Array.from({ length: n }, (_, i) => ({
    model: models[i % models.length]!,
    req: {
      ...base,
      seed: (chat.seed ?? 0) + i,
      ...(chat.temperature === undefined && models.length === 1 ? { temperature: temperature ?? 0.7 } : {}),
    },
  }));
}

export async function scoreAll(
  reward: OutcomeReward,
  prompt: string,
  gens: readonly Generation[],
  ctx: ScoreContext | undefined,
  ledger: Ledger,
): Promise<Float32Array> {
  return reward.score(
    prompt,
    gens.map((g): ResponseCandidate => ({ model: g.model, content: g.content })),
    { ...ctx, onCost: ledger.scoreCtxCost, signal: ledger.ctl.signal },
  );
}

export function argmax(xs: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[b]!) b = i;
  return b;
}

export function finish(
  strategy: DecodeResult['strategy'],
  done: readonly Generation[],
  scores: ArrayLike<number>,
  answers: ReadonlyArray<string | null>,
  chosen: number,
  ledger: Ledger,
  stop: StopReason,
  tally?: Record<string, number>,
): DecodeResult {
  const g = done[chosen]!;
  return {
    strategy,
    chosen,
    model: g.model,
    content: g.content,
    candidates: done.map((c, i) => ({
      model: c.model,
      content: c.content,
      score: scores[i]!,
      answer: answers[i]!,
      cost: c.cost,
      finishReason: c.finishReason,
    })),
    calls: ledger.calls,
    cost: ledger.cost,
    tokens: ledger.tokens,
    usage: ledger.usage,
    stop,
    ...(g.response ? { response: g.response } : {}),
    ...(tally ? { tally } : {}),
    failures: ledger.failures,
  };
}
