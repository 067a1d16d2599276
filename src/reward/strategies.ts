/**
 * Reward-guided decoding strategies over any chat-completion function:
 *   - bestOfN: N candidates (one model with varied seeds and temperature, or several models),
 *     scored by an outcome reward; optionally a diversity penalty; `weighted` sums the rewards per
 *     canonical answer (weighted best-of-N);
 *   - voteDecode: the same request to several models, answers voted (plain or weighted);
 *   - cascade: stages of models, cheapest first; accept when the reward clears a threshold (or the
 *     stage's models agree), else escalate;
 *   - guidedSearch: step-wise generation (a stop sequence ends a step; the partial solution is sent
 *     back as the assistant's message to continue), partial solutions scored by a process reward;
 *     beam search, or diverse verifier tree search (independent subtrees, each keeping its best).
 * Every call is accounted (calls, tokens, dollars; a judge's scoring too). A per-request budget is
 * never passed knowingly: a call starts only when what is spent, what is in flight (estimated) and
 * its own estimate fit. At the deadline in-flight calls are cancelled and the answer comes from
 * what finished. Calls run concurrently up to `concurrency`; once the answer is settled the rest
 * are cancelled or never started.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import { promptOf, type ChatCompletion, type ChatRequest } from '../providers/index.js';
import type { ResponseCandidate, OutcomeReward, ProcessReward, ScoreContext } from './types.js';
import { answerExtractor, answerKindFor } from './verify.js';
import { vote, type VoteResult } from './vote.js';

export interface Generation {
  model: string;
  content: string;
  finishReason: string | null;
  /**
   * What stopped it, where the server says (vLLM's `stop_reason`: the stop string matched, or
   * null / a token id at the end of the text); undefined when the server does not say.
   */
  stopReason?: string | number | null;
  /** Dollars this call cost. */
  cost: number;
  tokens: number;
  /** Its prompt and completion tokens, where known (the response's usage). */
  promptTokens?: number;
  completionTokens?: number;
  /** The provider's response (returned to API clients). */
  response?: ChatCompletion;
}

/** One call to one model; must honour the signal. */
export type Generate = (model: string, req: ChatRequest, signal: AbortSignal) => Promise<Generation>;

export interface DecodeLimits {
  /** Dollars for the whole request (model calls and judging). */
  budget?: number;
  /** Milliseconds from the start. */
  deadlineMs?: number;
  /** Calls in flight at once (default: as many as the strategy wants). */
  concurrency?: number;
  signal?: AbortSignal;
  /** A call's cost before it is made (default 0: only finished calls count against the budget). */
  estimateCost?: (model: string, req: ChatRequest) => number;
}

export interface ScoredCandidate {
  model: string;
  content: string;
  score: number;
  answer: string | null;
  cost: number;
  finishReason: string | null;
}

export type StopReason = 'complete' | 'settled' | 'accepted' | 'budget' | 'deadline';

export interface DecodeResult {
  strategy: 'best_of_n' | 'weighted_best_of_n' | 'vote' | 'cascade' | 'guided';
  /** Index of the chosen candidate. */
  chosen: number;
  model: string;
  content: string;
  candidates: ScoredCandidate[];
  calls: number;
  /** Dollars: every model call plus reward costs. */
  cost: number;
  tokens: number;
  /** OpenAI-style usage summed over every model call (what the request consumed). */
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  stop: StopReason;
  /** The chosen candidate's provider response, when there is one. */
  response?: ChatCompletion;
  /** Guided search: the chosen solution's steps and their process rewards. */
  steps?: Array<{ text: string; score: number }>;
  /** Cascade: the stage that answered (0-based). */
  stage?: number;
  tally?: VoteResult['tally'];
  /** Calls that failed (after their model's own retries), with the error code. */
  failures: Array<{ model: string; code: string }>;
}

/** Accounting, budget and deadline of one decoding request. */
class Ledger {
  cost = 0;
  tokens = 0;
  promptTokens = 0;
  completionTokens = 0;
  calls = 0;
  private reserved = 0;
  deadlineHit = false;
  budgetHit = false;
  readonly failures: Array<{ model: string; code: string }> = [];
  readonly ctl = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onAbort: () => void;

  constructor(private readonly limits: DecodeLimits) {
    if (limits.budget !== undefined && !(limits.budget >= 0)) throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'budget must be a non-negative number of dollars', { param: 'budget' });
    if (limits.deadlineMs !== undefined && !(limits.deadlineMs > 0)) throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'deadlineMs must be positive', { param: 'deadlineMs' });
    if (limits.deadlineMs !== undefined)
      this.timer = setTimeout(() => {
        this.deadlineHit = true;
        this.ctl.abort(new ArbiterError(ErrorCodes.UPSTREAM_TIMEOUT, `deadline of ${limits.deadlineMs} ms reached`, { param: 'deadline_ms' }));
      }, limits.deadlineMs);
    this.onAbort = () => this.ctl.abort(limits.signal?.reason);
    if (limits.signal?.aborted) this.ctl.abort(limits.signal.reason);
    else limits.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get stopped(): boolean {
    return this.ctl.signal.aborted;
  }

  /** Whether a call of this estimated cost may start now. */
  affordable(model: string, req: ChatRequest): number | null {
    const est = this.limits.estimateCost?.(model, req) ?? 0;
    if (this.limits.budget !== undefined && this.cost + this.reserved + est > this.limits.budget + 1e-12) {
      this.budgetHit = true;
      return null;
    }
    return est;
  }

  /** One call under the ledger: null when it was cancelled (deadline, settled); throws other failures. */
  async call(gen: Generate, model: string, req: ChatRequest, est: number, signal: AbortSignal): Promise<Generation | null> {
    this.reserved += est;
    this.calls++;
    try {
      const g = await gen(model, req, signal);
      this.cost += g.cost;
      this.tokens += g.tokens;
      this.promptTokens += g.promptTokens ?? 0;
      this.completionTokens += g.completionTokens ?? 0;
      return g;
    } catch (e) {
      if (signal.aborted && !this.limits.signal?.aborted) return null;
      this.failures.push({ model, code: e instanceof ArbiterError ? e.code : 'unknown' });
      throw e;
    } finally {
      this.reserved -= est;
    }
  }

  charge(cost: number, tokens: number): void {
    this.cost += cost;
    this.tokens += tokens;
  }

  get usage(): DecodeResult['usage'] {
    return { prompt_tokens: this.promptTokens, completion_tokens: this.completionTokens, total_tokens: this.promptTokens + this.completionTokens };
  }

  get scoreCtxCost(): (cost: number, tokens: number) => void {
    return (c, t) => this.charge(c, t);
  }

  stopReason(fallback: StopReason): StopReason {
    return this.deadlineHit ? 'deadline' : this.budgetHit ? 'budget' : fallback;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.limits.signal?.removeEventListener('abort', this.onAbort);
  }
}

interface Job {
  model: string;
  req: ChatRequest;
}

/**
 * Runs jobs with at most `concurrency` in flight; after each finishes, `settled(done, left)` may
 * stop the rest (in-flight ones are cancelled). Failed calls are dropped; all failing rethrows.
 */
async function runJobs(gen: Generate, ledger: Ledger, jobs: readonly Job[], concurrency: number, settled?: (done: Generation[], left: number) => boolean): Promise<{ done: Generation[]; jobOf: number[]; settled: boolean }> {
  const done: Generation[] = [];
  const order: number[] = [];
  let next = 0;
  let finished = 0;
  let stop = false;
  let lastError: unknown;
  const inflight = new Set<AbortController>();
  await new Promise<void>((resolve) => {
    const launch = () => {
      while (!stop && !ledger.stopped && inflight.size < concurrency && next < jobs.length) {
        const j = jobs[next]!;
        const est = ledger.affordable(j.model, j.req);
        if (est === null) {
          next = jobs.length; // the budget is spent: nothing more starts
          break;
        }
        const idx = next++;
        const ctl = new AbortController();
        const onAbort = () => ctl.abort(ledger.ctl.signal.reason);
        ledger.ctl.signal.addEventListener('abort', onAbort, { once: true });
        inflight.add(ctl);
        ledger
          .call(gen, j.model, j.req, est, ctl.signal)
          .then(
            (g) => {
              if (g && !stop) {
                done.push(g);
                order.push(idx);
              }
            },
            (e: unknown) => {
              lastError = e;
            },
          )
          .finally(() => {
            ledger.ctl.signal.removeEventListener('abort', onAbort);
            inflight.delete(ctl);
            finished++;
            if (!stop && settled?.(done, jobs.length - finished)) {
              stop = true;
              for (const c of inflight) c.abort(new Error('settled'));
            }
            launch();
            if (inflight.size === 0 && (stop || ledger.stopped || next >= jobs.length)) resolve();
          });
      }
      if (inflight.size === 0) resolve();
    };
    launch();
  });
  if (!done.length && lastError !== undefined && !ledger.deadlineHit) throw lastError;
  // in job order, so results do not depend on which call was faster
  const sorted = order.map((o, i) => [o, done[i]!] as const).sort((a, b) => a[0] - b[0]);
  return { done: sorted.map(([, g]) => g), jobOf: sorted.map(([o]) => o), settled: stop };
}

function nothingFinished(ledger: Ledger): never {
  if (ledger.deadlineHit) throw new ArbiterError(ErrorCodes.UPSTREAM_TIMEOUT, 'the deadline passed before any candidate finished', { param: 'deadline_ms' });
  if (ledger.budgetHit) throw new ArbiterError(ErrorCodes.BUDGET_EXCEEDED, 'the budget does not cover a single call', { param: 'budget' });
  throw new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'no candidate was produced', { param: 'model' });
}

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

const answerKey = (prompt: string, ctx: ScoreContext | undefined) => answerExtractor(prompt, ctx?.task, ctx?.answerKind);

/** Count-majority settled: the leading answer cannot be overtaken by the calls still to come. */
function majoritySettled(key: (c: string) => string | null, done: Generation[], left: number): boolean {
  const counts = new Map<string, number>();
  for (const g of done) {
    const a = key(g.content);
    if (a !== null) counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  const [first = 0, second = 0] = [...counts.values()].sort((a, b) => b - a);
  return first > 0 && first - second > left;
}

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

function checkModels(models: readonly string[], what: string): void {
  if (!models.length) throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${what} needs at least one model`, { param: 'models' });
}

function sampleJobs(chat: ChatRequest, models: readonly string[], n: number, temperature: number | undefined): Job[] {
  const { n: _n, ...base } = chat;
  return Array.from({ length: n }, (_, i) => ({
    model: models[i % models.length]!,
    req: { ...base, seed: (chat.seed ?? 0) + i, ...(chat.temperature === undefined && models.length === 1 ? { temperature: temperature ?? 0.7 } : {}) },
  }));
}

async function scoreAll(reward: OutcomeReward, prompt: string, gens: readonly Generation[], ctx: ScoreContext | undefined, ledger: Ledger): Promise<Float32Array> {
  return reward.score(prompt, gens.map((g): ResponseCandidate => ({ model: g.model, content: g.content })), { ...ctx, onCost: ledger.scoreCtxCost, signal: ledger.ctl.signal });
}

export async function bestOfN(gen: Generate, chat: ChatRequest, o: BestOfNOptions): Promise<DecodeResult> {
  checkModels(o.models, 'best-of-N');
  if (!(Number.isInteger(o.n) && o.n >= 1 && o.n <= 64)) throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'n must be an integer in 1..64', { param: 'n' });
  const prompt = promptOf(chat);
  const key = answerKey(prompt, o.ctx);
  const ledger = new Ledger(o);
  try {
    const jobs = sampleJobs(chat, o.models, o.n, o.temperature);
    let acceptedAt = -1;
    const { done, settled: wasSettled } =
      o.accept !== undefined
        ? await runAccepting(gen, ledger, jobs, o, prompt, (i) => (acceptedAt = i))
        : await runJobs(gen, ledger, jobs, o.concurrency ?? o.n, o.weighted ? (d, left) => majoritySettled(key, d, left) : undefined);
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
      if (top !== undefined) chosen = answers.map((a, i) => (a === top ? i : -1)).filter((i) => i >= 0).reduce((a, b) => (adj[b]! > adj[a]! ? b : a));
    }
    return finish(o.weighted ? 'weighted_best_of_n' : 'best_of_n', done, adj, answers, chosen, ledger, acceptedAt >= 0 ? 'accepted' : wasSettled ? 'settled' : ledger.stopReason('complete'), tally);
  } finally {
    ledger.close();
  }
}

/** Best-of-N with an acceptance threshold: candidates are re-scored as each arrives; one at or above it ends the run. */
async function runAccepting(gen: Generate, ledger: Ledger, jobs: readonly Job[], o: BestOfNOptions, prompt: string, onAccept: (i: number) => void): Promise<{ done: Generation[]; settled: boolean }> {
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

function argmax(xs: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[b]!) b = i;
  return b;
}

function finish(strategy: DecodeResult['strategy'], done: readonly Generation[], scores: ArrayLike<number>, answers: ReadonlyArray<string | null>, chosen: number, ledger: Ledger, stop: StopReason, tally?: Record<string, number>): DecodeResult {
  const g = done[chosen]!;
  return {
    strategy,
    chosen,
    model: g.model,
    content: g.content,
    candidates: done.map((c, i) => ({ model: c.model, content: c.content, score: scores[i]!, answer: answers[i]!, cost: c.cost, finishReason: c.finishReason })),
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
    const v = vote(done.map((g) => ({ model: g.model, content: g.content, weight: w(g.model) })), kind, prompt);
    const scores = done.map((_, i) => (v.answers[i] !== null ? (v.tally[v.answers[i]!] ?? 0) : 0));
    return finish('vote', done, scores, v.answers, v.winner, ledger, settled ? 'settled' : ledger.stopReason('complete'), v.tally);
  } finally {
    ledger.close();
  }
}

export interface CascadeOptions extends DecodeLimits {
  /** Models per stage, cheapest stage first. */
  stages: ReadonlyArray<readonly string[]>;
  reward: OutcomeReward;
  /** Accept when the best candidate's reward reaches this (default 0.5). */
  threshold?: number;
  /** 'agreement': accept when a stage's models (two or more) all give the same extracted answer. */
  mode?: 'reward' | 'agreement';
  ctx?: ScoreContext;
}

export async function cascade(gen: Generate, chat: ChatRequest, o: CascadeOptions): Promise<DecodeResult> {
  if (!o.stages.length || o.stages.some((s) => !s.length)) throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'a cascade needs at least one stage, each with at least one model', { param: 'models' });
  const prompt = promptOf(chat);
  const key = answerKey(prompt, o.ctx);
  const threshold = o.threshold ?? 0.5;
  const { n: _n, ...req } = chat;
  const ledger = new Ledger(o);
  const all: Generation[] = [];
  let scores: Float32Array<ArrayBufferLike> = new Float32Array(0);
  let stage = 0;
  let stop: StopReason = 'complete';
  try {
    for (; stage < o.stages.length; stage++) {
      const models = o.stages[stage]!;
      const { done } = await runJobs(gen, ledger, models.map((m) => ({ model: m, req })), o.concurrency ?? models.length);
      all.push(...done);
      if (!all.length) {
        if (ledger.stopped || ledger.budgetHit) break;
        continue; // this stage failed entirely: escalate
      }
      scores = await scoreAll(o.reward, prompt, all, o.ctx, ledger);
      const best = argmax(scores);
      const ans = done.map((g) => key(g.content));
      const accepted = o.mode === 'agreement' ? done.length >= 2 && ans[0] !== null && ans.every((a) => a === ans[0]) : scores[best]! >= threshold;
      if (accepted) {
        stop = 'accepted';
        break;
      }
      if (ledger.stopped || ledger.budgetHit) break;
    }
    if (!all.length) nothingFinished(ledger);
    if (stop !== 'accepted') stop = ledger.stopReason('complete');
    // agreement mode accepts the agreeing stage's best-scored answer; otherwise the best overall
    const chosen = argmax(scores);
    const r = finish('cascade', all, scores, all.map((g) => key(g.content)), chosen, ledger, stop);
    return { ...r, stage: Math.min(stage, o.stages.length - 1) };
  } finally {
    ledger.close();
  }
}

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

export async function guidedSearch(gen: Generate, chat: ChatRequest, o: GuidedOptions): Promise<DecodeResult> {
  checkModels(o.models, 'guided search');
  const B = o.beamWidth ?? 2;
  const E = o.expansions ?? 2;
  const maxSteps = o.maxSteps ?? 8;
  for (const [v, name, hi] of [[B, 'beamWidth', 16], [E, 'expansions', 16], [maxSteps, 'maxSteps', 64]] as const)
    if (!(Number.isInteger(v) && v >= 1 && v <= hi)) throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${name} must be an integer in 1..${hi}`, { param: name });
  const how = o.aggregate ?? 'min';
  const stop = o.stop ?? ['\n\n'];
  const prompt = promptOf(chat);
  const { n: _n, ...base } = chat;
  const ledger = new Ledger(o);
  let frontier: Beam[] = Array.from({ length: o.diverse ? B : 1 }, (_, t) => ({ steps: [], stepScores: [], score: 1, done: false, tree: t }));
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
        const stepScores = await o.prm.scoreSteps(prompt, steps, { ...o.ctx, onCost: ledger.scoreCtxCost, signal: ledger.ctl.signal });
        // ended by the text's own end rather than a stop sequence (where the server says so), a final answer, or the depth limit
        const ended = g.stopReason !== undefined && !(typeof g.stopReason === 'string' && stop.includes(g.stopReason));
        children.push({ steps, stepScores, score: aggregate(stepScores, how), done: ended || FINAL.test(text) || depth === maxSteps - 1, tree: parent.tree, gen: g });
      }
      // keep the best B (beam) or each subtree's best (diverse); finished solutions leave the frontier
      const ranked = children.sort((a, b) => b.score - a.score);
      const kept = o.diverse ? [...new Set(ranked.map((c) => c.tree))].map((t) => ranked.find((c) => c.tree === t)!) : ranked.slice(0, B);
      finished.push(...kept.filter((c) => c.done));
      frontier = kept.filter((c) => !c.done);
      if (ledger.budgetHit && !done.length) break;
    }
    const pool = finished.length ? finished : frontier;
    if (!pool.length || !pool.some((b) => b.steps.length)) nothingFinished(ledger);
    const ranked = pool.filter((b) => b.steps.length).sort((a, b) => b.score - a.score);
    const cands = ranked.map((b) => ({ model: b.gen?.model ?? o.models[0]!, content: b.steps.join('\n\n'), cost: 0, finishReason: b.done ? 'stop' : 'length' }));
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
