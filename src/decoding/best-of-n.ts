/**
 * Best-of-N: N candidates (one model with varied seeds and temperature, or several models),
 * scored by an outcome reward; optionally a diversity penalty; `weighted` sums the rewards per
 * canonical answer (weighted best-of-N); `accept` stops at the first candidate scoring at least it.
 */
import { DECODE_LIMITS } from '../config/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { promptOf, type ChatRequest } from '../providers/index.js';
import type { OutcomeReward, ResponseCandidate, ScoreContext } from '../reward/index.js';
import {
  answerKey,
  argmax,
  checkModels,
  finish,
  majoritySettled,
  sampleJobs,
  scoreAll,
  textSimilarity,
} from './common.js';
import { Ledger } from './ledger.js';
import { nothingFinished, runJobs, type Job } from './scheduler.js';
import { outcomeReward, type DecodingStrategy } from './strategy.js';
import type { DecodeLimits, DecodeResult, Generate, Generation } from './types.js';

export interface BestOfNOptions extends DecodeLimits {
  /** One model (N samples with seeds seed, seed+1, …) or several (round-robin). */
  models: readonly string[];
  n: number;
  reward: OutcomeReward;
  ctx?: ScoreContext;
  /** Sum rewards per canonical answer and take the best-scored candidate of the winning answer. */
  weighted?: boolean;
  /** Subtracts λ × the highest similarity to another candidate (0 = none). */
  diversity?: number;
  /** Stop as soon as a candidate scores at least this (rewards are re-scored as candidates arrive). */
  accept?: number;
  /** Sampling temperature when the request has none and one model is sampled N times (default 0.7). */
  temperature?: number;
}

export async function bestOfN(gen: Generate, chat: ChatRequest, o: BestOfNOptions): Promise<DecodeResult> {
  checkModels(o.models, 'best-of-N');
  if (!(Number.isInteger(o.n) && o.n >= 1 && o.n <= DECODE_LIMITS.n))
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `n must be an integer in 1..${DECODE_LIMITS.n}`, {
      param: 'n',
    });
  const prompt = promptOf(chat);
  const key = answerKey(prompt, o.ctx);
  const ledger = new Ledger(o);
  try {
    const jobs = sampleJobs(chat, o.models, o.n, o.temperature);
    let acceptedAt = -1;
    const { done, settled: wasSettled } =
      o.accept !== undefined
        ? await runAccepting(gen, ledger, jobs, o, prompt, (i) => (acceptedAt = i))
        : await runJobs(
            gen,
            ledger,
            jobs,
            o.concurrency ?? o.n,
            o.weighted ? (d, left) => majoritySettled(key, d, left) : undefined,
          );
    if (!done.length) nothingFinished(ledger);
    const scores = await scoreAll(o.reward, prompt, done, o.ctx, ledger);
    const answers = done.map((g) => key(g.content));
    const adj = Float32Array.from(scores);
    if (o.diversity)
      done.forEach((g, i) => {
        let sim = 0;
        done.forEach((h, j) => j !== i && (sim = Math.max(sim, textSimilarity(g.content, h.content))));
        adj[i] = adj[i]! - o.diversity! * sim;
      });
    const cands = done.map((g): ResponseCandidate => ({ model: g.model, content: g.content }));
    let chosen = o.reward.pick && !o.diversity ? o.reward.pick(cands, adj, o.ctx) : argmax(adj);
    let tally: Record<string, number> | undefined;
    if (o.weighted) {
      tally = {};
      answers.forEach((a, i) => a !== null && (tally![a] = (tally![a] ?? 0) + adj[i]!));
      const top = Object.entries(tally).sort((a, b) => b[1] - a[1])[0]?.[0];
      if (top !== undefined)
        chosen = answers
          .map((a, i) => (a === top ? i : -1))
          .filter((i) => i >= 0)
          .reduce((a, b) => (adj[b]! > adj[a]! ? b : a));
    }
    return finish(
      o.weighted ? 'weighted_best_of_n' : 'best_of_n',
      done,
      adj,
      answers,
      chosen,
      ledger,
      acceptedAt >= 0 ? 'accepted' : wasSettled ? 'settled' : ledger.stopReason('complete'),
      tally,
    );
  } finally {
    ledger.close();
  }
}

/** Best-of-N with an acceptance threshold: candidates are re-scored as each arrives; one at or above it ends the run. */
async function runAccepting(
  gen: Generate,
  ledger: Ledger,
  jobs: readonly Job[],
  o: BestOfNOptions,
  prompt: string,
  onAccept: (i: number) => void,
): Promise<{ done: Generation[]; settled: boolean }> {
  const all: Generation[] = [];
  const concurrency = o.concurrency ?? o.n;
  for (let start = 0; start < jobs.length && !ledger.stopped; start += concurrency) {
    const { done } = await runJobs(gen, ledger, jobs.slice(start, start + concurrency), concurrency);
    all.push(...done);
    if (!all.length) continue;
    const s = await scoreAll(o.reward, prompt, all, o.ctx, ledger);
    const best = argmax(s);
    if (s[best]! >= o.accept!) {
      onAccept(best);
      return { done: all, settled: true };
    }
    if (ledger.budgetHit) break;
  }
  return { done: all, settled: false };
}

function bestOfNStrategy(weighted: boolean): DecodingStrategy {
  return {
    name: weighted ? 'weighted_best_of_n' : 'best_of_n',
    run: ({ generate, chat, limits, options: o, plan, ctx, defaults, rewards }) => {
      const diversity = o.diversity ?? defaults.diversity[plan.task];
      return bestOfN(generate, chat, {
        ...limits,
        models: o.models ?? [plan.model],
        n: o.n ?? defaults.n,
        reward: outcomeReward({ options: o, rewards }),
        ctx,
        weighted,
        ...(diversity !== undefined ? { diversity } : {}),
      });
    },
  };
}

/** N candidates, the best-rewarded one answers. */
export const bestOfNDecoding = bestOfNStrategy(false);
/** N candidates, rewards summed per answer; the best of the winning answer answers. */
export const weightedBestOfNDecoding = bestOfNStrategy(true);
