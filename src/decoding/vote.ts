/** Vote: the same request to several models, answers voted (plain or weighted by reliability). */
import { promptOf, type ChatRequest } from '../providers/index.js';
import { answerKindFor, vote, type ScoreContext } from '../reward/index.js';
import { answerKey, checkModels, finish } from './common.js';
import { Ledger } from './ledger.js';
import { nothingFinished, runJobs } from './scheduler.js';
import { logit } from '../math.js';
import type { DecodingStrategy } from './strategy.js';
import type { DecodeLimits, DecodeResult, Generate } from './types.js';

export interface VoteDecodeOptions extends DecodeLimits {
  models: readonly string[];
  /** Per model weight (e.g. the log-odds of its predicted quality); 1 each when absent (plain vote). */
  weights?: (model: string) => number;
  ctx?: ScoreContext;
}

/** The request to each model; answers voted; stops once the remaining models' weight cannot change the winner. */
export async function voteDecode(gen: Generate, chat: ChatRequest, o: VoteDecodeOptions): Promise<DecodeResult> {
  checkModels(o.models, 'vote');
  const prompt = promptOf(chat);
  const kind = o.ctx?.answerKind ?? answerKindFor(o.ctx?.task, prompt);
  const key = answerKey(prompt, o.ctx);
  const w = (m: string) => Math.max(0, o.weights?.(m) ?? 1);
  const { n: _n, ...req } = chat;
  const jobs = o.models.map((m) => ({ model: m, req }));
  const ledger = new Ledger(o);
  try {
    const { done, settled } = await runJobs(gen, ledger, jobs, o.concurrency ?? jobs.length, (d) => {
      if (kind === 'text') return false;
      const seen = new Set(d.map((g) => g.model));
      const remaining = o.models.filter((m) => !seen.has(m)).reduce((s, m) => s + w(m), 0);
      const t = new Map<string, number>();
      for (const g of d) {
        const a = key(g.content);
        if (a !== null) t.set(a, (t.get(a) ?? 0) + w(g.model));
      }
      const [first = 0, second = 0] = [...t.values()].sort((a, b) => b - a);
      return first > 0 && first - second > remaining;
    });
    if (!done.length) nothingFinished(ledger);
    const v = vote(
      done.map((g) => ({ model: g.model, content: g.content, weight: w(g.model) })),
      kind,
      prompt,
    );
    const scores = done.map((_, i) => (v.answers[i] !== null ? (v.tally[v.answers[i]!] ?? 0) : 0));
    return finish(
      'vote',
      done,
      scores,
      v.answers,
      v.winner,
      ledger,
      settled ? 'settled' : ledger.stopReason('complete'),
      v.tally,
    );
  } finally {
    ledger.close();
  }
}

/** Each model once, answers voted; weighted by the log-odds of predicted quality unless `weighting: equal`. */
export const voteDecoding: DecodingStrategy = {
  name: 'vote',
  run: ({ generate, chat, limits, options: o, plan, ctx, defaults }) =>
    voteDecode(generate, chat, {
      ...limits,
      models: o.models ?? plan.eligible.slice(0, o.n ?? defaults.voteModels),
      ctx,
      ...(o.weighting === 'equal'
        ? {}
        : { weights: (m: string) => Math.max(defaults.minVoteWeight, logit(plan.quality(m) ?? 0.5)) }),
    }),
};
