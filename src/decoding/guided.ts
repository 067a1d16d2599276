/**
 * Guided search: step-wise generation (a stop sequence ends a step; the partial solution is sent
 * back as the assistant's message to continue), partial solutions scored by a process reward;
 * beam search, or diverse verifier tree search (independent subtrees, each keeping its best).
 */
import { DECODE_LIMITS } from '../config/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { promptOf, type ChatRequest } from '../providers/index.js';
import type { ProcessReward, ScoreContext } from '../reward/index.js';
import { answerKey, checkModels } from './common.js';
import { Ledger } from './ledger.js';
import { nothingFinished, runJobs, type Job } from './scheduler.js';
import type { DecodingStrategy } from './strategy.js';
import type { DecodeLimits, DecodeResult, Generate, Generation } from './types.js';

export interface GuidedOptions extends DecodeLimits {
  models: readonly string[];
  prm: ProcessReward;
  /** Partial solutions kept per depth (beam), or independent subtrees (diverse). Default 2. */
  beamWidth?: number;
  /** Continuations sampled per kept solution and depth. Default 2. */
  expansions?: number;
  maxSteps?: number;
  /** What ends a step (default a blank line). */
  stop?: string[];
  /** Diverse verifier tree search: each of `beamWidth` subtrees keeps only its own best. */
  diverse?: boolean;
  /** How step rewards combine into a solution's score (default min). */
  aggregate?: 'min' | 'last' | 'product' | 'mean';
  temperature?: number;
  ctx?: ScoreContext;
}

/** A step that gives a final answer ends the solution. */
const FINAL = /####|\banswer is\b|\\boxed|\bfinal answer\b/i;

interface Beam {
  steps: string[];
  stepScores: number[];
  score: number;
  done: boolean;
  tree: number;
  gen?: Generation;
}

function aggregate(xs: readonly number[], how: NonNullable<GuidedOptions['aggregate']>): number {
  if (!xs.length) return 1;
  if (how === 'last') return xs.at(-1)!;
  if (how === 'product') return xs.reduce((a, b) => a * b, 1);
  if (how === 'mean') return xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.min(...xs);
}

// eslint-disable-next-line max-lines-per-function -- one search loop (expand, score, keep per tree, stop) whose steps share the beam state
export async function guidedSearch(gen: Generate, chat: ChatRequest, o: GuidedOptions): Promise<DecodeResult> {
  checkModels(o.models, 'guided search');
  const B = o.beamWidth ?? 2;
  const E = o.expansions ?? 2;
  const maxSteps = o.maxSteps ?? 8;
  for (const [v, name, hi] of [
    [B, 'beamWidth', DECODE_LIMITS.beamWidth],
    [E, 'expansions', DECODE_LIMITS.expansions],
    [maxSteps, 'maxSteps', DECODE_LIMITS.maxSteps],
  ] as const)
    if (!(Number.isInteger(v) && v >= 1 && v <= hi))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${name} must be an integer in 1..${hi}`, { param: name });
  const how = o.aggregate ?? 'min';
  const stop = o.stop ?? ['\n\n'];
  const prompt = promptOf(chat);
  const { n: _n, ...base } = chat;
  const ledger = new Ledger(o);
  let frontier: Beam[] = Array.from({ length: o.diverse ? B : 1 }, (_, t) => ({
    steps: [],
    stepScores: [],
    score: 1,
    done: false,
    tree: t,
  }));
  const finished: Beam[] = [];
  let seed = chat.seed ?? 0;
  try {
    for (let depth = 0; depth < maxSteps && frontier.length && !ledger.stopped; depth++) {
      const jobs: Array<Job & { parent: Beam }> = [];
      for (const b of frontier)
        for (let e = 0; e < (o.diverse || depth > 0 ? E : B * E); e++) {
          const partial = b.steps.join('\n\n');
          jobs.push({
            parent: b,
            model: o.models[jobs.length % o.models.length]!,
            req: {
              ...base,
              messages: partial ? [...chat.messages, { role: 'assistant', content: `${partial}\n\n` }] : chat.messages,
              stop,
              seed: seed++,
              temperature: chat.temperature ?? o.temperature ?? 0.7,
            },
          });
        }
      const { done, jobOf } = await runJobs(gen, ledger, jobs, o.concurrency ?? jobs.length);
      const children: Beam[] = [];
      for (const [i, g] of done.entries()) {
        const parent = jobs[jobOf[i]!]!.parent;
        const text = g.content.trim();
        // nothing new (an empty continuation, or a server that does not continue a prefill and
        // says the same again): the solution so far is complete
        if (!text || parent.steps.includes(text)) {
          children.push({ ...parent, done: true, gen: parent.gen ?? g });
          continue;
        }
        const steps = [...parent.steps, text];
        const stepScores = await o.prm.scoreSteps(prompt, steps, {
          ...o.ctx,
          onCost: ledger.scoreCtxCost,
          signal: ledger.ctl.signal,
        });
        // ended by the text's own end rather than a stop sequence (where the server says so), a final answer, or the depth limit
        const ended = g.stopReason !== undefined && !(typeof g.stopReason === 'string' && stop.includes(g.stopReason));
        children.push({
          steps,
          stepScores,
          score: aggregate(stepScores, how),
          done: ended || FINAL.test(text) || depth === maxSteps - 1,
          tree: parent.tree,
          gen: g,
        });
      }
      // keep the best B (beam) or each subtree's best (diverse); finished solutions leave the frontier
      const ranked = children.sort((a, b) => b.score - a.score);
      const kept = o.diverse
        ? [...new Set(ranked.map((c) => c.tree))].map((t) => ranked.find((c) => c.tree === t)!)
        : ranked.slice(0, B);
      finished.push(...kept.filter((c) => c.done));
      frontier = kept.filter((c) => !c.done);
      if (ledger.budgetHit && !done.length) break;
    }
    const pool = finished.length ? finished : frontier;
    if (!pool.length || !pool.some((b) => b.steps.length)) nothingFinished(ledger);
    const ranked = pool.filter((b) => b.steps.length).sort((a, b) => b.score - a.score);
    const cands = ranked.map((b) => ({
      model: b.gen?.model ?? o.models[0]!,
      content: b.steps.join('\n\n'),
      cost: 0,
      finishReason: b.done ? 'stop' : 'length',
    }));
    const key = answerKey(prompt, o.ctx);
    const best = ranked[0]!;
    return {
      strategy: 'guided',
      chosen: 0,
      model: cands[0]!.model,
      content: cands[0]!.content,
      candidates: cands.map((c, i) => ({ ...c, score: ranked[i]!.score, answer: key(c.content) })),
      calls: ledger.calls,
      cost: ledger.cost,
      tokens: ledger.tokens,
      usage: ledger.usage,
      stop: ledger.stopReason('complete'),
      steps: best.steps.map((text, i) => ({ text, score: best.stepScores[i]! })),
      failures: ledger.failures,
      ...(best.gen?.response ? { response: best.gen.response } : {}),
    };
  } finally {
    ledger.close();
  }
}

/** Step-wise search scored by a process reward (the verifier's arithmetic checks unless the request names another). */
export const guidedDecoding: DecodingStrategy = {
  name: 'guided',
  run: ({ generate, chat, limits, options: o, plan, ctx, rewards }) => {
    const prm = rewards.process.get(o.reward ?? 'verifier');
    if (!prm)
      throw new ArbiterError(
        ErrorCodes.INVALID_REQUEST,
        `arbiter.reward ${JSON.stringify(o.reward)} has no process reward (have: ${[...rewards.process.keys()].join(', ')})`,
        { param: 'arbiter.reward' },
      );
    return guidedSearch(generate, chat, {
      ...limits,
      models: o.models ?? [plan.model],
      prm,
      ctx,
      ...(o.beamWidth !== undefined ? { beamWidth: o.beamWidth } : {}),
      ...(o.expansions !== undefined ? { expansions: o.expansions } : {}),
      ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
      ...(o.diverse !== undefined ? { diverse: o.diverse } : {}),
    });
  },
};
