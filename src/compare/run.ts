/**
 * Running a comparison: every prompt on every model through the engine (its gates, retries and
 * the model's own limits), at most `concurrency` calls at once overall and `perModel` per model,
 * each under a timeout and retried; a failed call is recorded and the rest go on. Each result is
 * scored as it arrives and appended to `results.jsonl` (answers stay on disk, numbers in memory),
 * so a run that stops resumes where it stopped: a result already there for the same prompt, model
 * and parameters is not called again. With `learn`, each answer's quality is rated on its request
 * (source `test`), which updates the model's profile and teaches the router.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Arbiter } from '../engine/index.js';
import { callCost } from '../engine/index.js';
import { ArbiterError, ErrorCodes, isArbiterError } from '../errors.js';
import { answerExtractor, type OutcomeReward } from '../reward/index.js';
import { assertionScore, type Assertion } from './assertions.js';
import { judgePair, judgeSingle } from './judge.js';
import type { CallResult, CompareCase, Judgment } from './types.js';

export interface RunOptions {
  models: readonly string[];
  /** Calls at once overall (default 8) and per model (default: the overall limit). */
  concurrency?: number;
  perModel?: number;
  timeoutMs?: number;
  /** Tries after the first failure (default 1). */
  retries?: number;
  maxTokens?: number;
  temperature?: number;
  /** Assertions applied to every prompt (the tests file), beside each prompt's own. */
  assert?: readonly Assertion[];
  /** Weights of the quality components present: assertions, reference, reward (default 1 each). */
  evaluators?: { assertions?: number; reference?: number; reward?: number; judge?: number };
  /** A reward from the engine (by name) scoring every answer. */
  reward?: string;
  /** Where results stream to (results.jsonl) and resume from. */
  out?: string;
  /** Rate each answer on its request (updates profiles, teaches the router); off for --dry-run. */
  learn?: boolean;
  onResult?: (r: CallResult, done: number, total: number) => void;
  signal?: AbortSignal;
  /** Where answers are kept by model (one prompt side by side); otherwise they stay on disk only. */
  keepOutputs?: Map<string, string>;
  /** A configured model that grades every answer (rubric 1–10: the `judge` component). */
  judge?: string;
  /** With a judge: every pair of answers judged in both orders, into `judgments` (and judgments.jsonl). */
  pairwise?: boolean;
  judgments?: Judgment[];
}

/** The key a result is kept under: the prompt, the model and the call's parameters. */
export function resultKey(c: CompareCase, model: string, o: Pick<RunOptions, 'maxTokens' | 'temperature'>): string {
  return createHash('sha256')
    .update(JSON.stringify([c.prompt, model, o.maxTokens ?? null, o.temperature ?? null]))
    .digest('base64url')
    .slice(0, 22);
}

/** A counting semaphore. */
function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (f) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await f();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** An earlier run's results by key; answers dropped unless `keepOutputs` (pairwise judging re-reads them): memory holds numbers. */
async function earlier(file: string, keepOutputs: boolean): Promise<Map<string, CallResult>> {
  const out = new Map<string, CallResult>();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const { key, output, ...r } = JSON.parse(line) as CallResult & { key: string };
      out.set(key, keepOutputs && output !== undefined ? { ...r, output } : r);
    } catch {
      /* a line cut by an interruption: called again */
    }
  }
  return out;
}

export async function runComparison(
  engine: Arbiter,
  cases: readonly CompareCase[],
  o: RunOptions,
): Promise<CallResult[]> {
  const file = o.out ? join(o.out, 'results.jsonl') : undefined;
  if (o.out) await mkdir(o.out, { recursive: true });
  const done = file
    ? await earlier(file, o.pairwise === true || o.keepOutputs !== undefined)
    : new Map<string, CallResult>();
  const reward = o.reward === undefined ? undefined : engine.rewards.outcome.get(o.reward);
  if (o.reward !== undefined && !reward)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `no reward ${JSON.stringify(o.reward)} (have: ${[...engine.rewards.outcome.keys()].join(', ')})`,
      { param: 'reward' },
    );
  const all = limiter(o.concurrency ?? 8);
  const per = new Map(o.models.map((m) => [m, limiter(o.perModel ?? o.concurrency ?? 8)]));
  const total = cases.length * o.models.length;
  let count = 0;
  const results: CallResult[] = [];
  const jobs = cases.flatMap((c) => o.models.map((m) => [c, m] as const));
  const pairwise = o.pairwise && o.judge ? await pairJudge(engine, o) : undefined;
  await Promise.all(
    jobs.map(([c, model]) =>
      per.get(model)!(() =>
        all(async () => {
          const key = resultKey(c, model, o);
          const seen = done.get(key);
          const r = seen ? { ...seen, cached: true } : await callAndScore(engine, c, model, o, reward);
          if (!seen && file) await appendFile(file, `${JSON.stringify({ key, ...r })}\n`);
          const { output, ...kept } = r;
          if (o.keepOutputs && output !== undefined) o.keepOutputs.set(model, output);
          results.push(kept);
          o.onResult?.(kept, ++count, total);
          await pairwise?.(c, model, r.status === 'ok' ? output : undefined);
        }),
      ),
    ),
  );
  return results;
}

async function callAndScore(
  engine: Arbiter,
  c: CompareCase,
  model: string,
  o: RunOptions,
  reward: OutcomeReward | undefined,
): Promise<CallResult> {
  const base = { case: c.id, model, latencyMs: 0, cost: 0, promptTokens: 0, completionTokens: 0, scores: {} };
  let last: unknown;
  for (let attempt = 0; attempt <= (o.retries ?? 1); attempt++) {
    if (o.signal?.aborted) break;
    const t0 = performance.now();
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(o.timeoutMs ?? 60_000), ...(o.signal ? [o.signal] : [])]);
      const r = await engine.complete(
        {
          model,
          stream: false,
          messages: [{ role: 'user', content: c.prompt }],
          ...(o.maxTokens !== undefined ? { max_tokens: o.maxTokens } : {}),
          ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
        },
        { signal },
      );
      const latencyMs = performance.now() - t0;
      const output = r.response.choices[0]?.message.content ?? '';
      const pt = r.response.usage?.prompt_tokens ?? 0;
      const ct = r.response.usage?.completion_tokens ?? 0;
      const scored = await score(c, output, model, o, reward);
      if (o.judge) {
        const j = await judgeSingle(engine, o.judge, c.prompt, output, o.signal).catch(() => undefined);
        if (j !== undefined) Object.assign(scored, reweigh({ ...scored.scores, judge: j }, o));
      }
      if (o.learn) await engine.rate(r.id, { score: scored.quality, source: 'test' }).catch(() => undefined);
      return {
        ...base,
        status: 'ok',
        output,
        latencyMs,
        cost: callCost(engine.router.registry.get(model), pt, ct),
        promptTokens: pt,
        completionTokens: ct,
        ...scored,
      };
    } catch (e) {
      last = e;
    }
  }
  return { ...base, status: 'error', code: isArbiterError(last) ? last.code : 'unknown', quality: 0 };
}

/** The answer's component scores and their weighted mean (no component: quality is unknown, 0). */
async function score(
  c: CompareCase,
  output: string,
  model: string,
  o: RunOptions,
  reward: OutcomeReward | undefined,
): Promise<Pick<CallResult, 'scores' | 'quality' | 'answer'>> {
  const scores: Record<string, number> = {};
  const checks = [...(o.assert ?? []), ...(c.assert ?? [])];
  if (checks.length)
    scores.assertions = checks.reduce((s, a) => s + assertionScore(a, output, c.prompt), 0) / checks.length;
  const extract = answerExtractor(c.prompt, c.task);
  const answer = extract(output);
  if (c.reference !== undefined) {
    const ref = extract(c.reference) ?? c.reference.trim();
    scores.reference = (answer ?? output.trim()) === ref ? 1 : 0;
  }
  if (reward)
    scores.reward = (await reward.score(c.prompt, [{ model, content: output }], c.task ? { task: c.task } : {}))[0]!;
  return { ...reweigh(scores, o), answer };
}

/** The components' weighted mean (weights: the evaluators', 1 where not given). */
function reweigh(scores: Record<string, number>, o: RunOptions): Pick<CallResult, 'scores' | 'quality'> {
  const w: Record<string, number> = { assertions: 1, reference: 1, reward: 1, judge: 1, ...o.evaluators };
  let sum = 0;
  let weight = 0;
  for (const [k, v] of Object.entries(scores)) {
    sum += v * (w[k] ?? 1);
    weight += w[k] ?? 1;
  }
  return { scores, quality: weight > 0 ? sum / weight : 0 };
}

/**
 * Pairwise judging as a prompt's answers come in: once every model has answered (or failed), each
 * pair of answers is judged in both orders; verdicts go to `o.judgments` and judgments.jsonl (a
 * rerun reuses them). A prompt's answers are held only until its pairs are judged.
 */
async function pairJudge(engine: Arbiter, o: RunOptions) {
  const file = o.out ? join(o.out, 'judgments.jsonl') : undefined;
  const seen = new Map<string, Judgment>();
  if (file)
    for (const line of (await readFile(file, 'utf8').catch(() => '')).split('\n'))
      try {
        const j = JSON.parse(line) as Judgment;
        seen.set(`${j.case}\u0000${j.a}\u0000${j.b}`, j);
      } catch {
        /* empty or cut */
      }
  const open = new Map<string, Map<string, string | undefined>>();
  return async (c: CompareCase, model: string, output: string | undefined) => {
    const got = open.get(c.id) ?? new Map<string, string | undefined>();
    open.set(c.id, got.set(model, output));
    if (got.size < o.models.length) return;
    open.delete(c.id);
    for (let i = 0; i < o.models.length; i++)
      for (let k = i + 1; k < o.models.length; k++) {
        const [a, b] = [o.models[i]!, o.models[k]!];
        const x = got.get(a);
        const y = got.get(b);
        if (x === undefined || y === undefined) continue; // a failed answer is not judged: it loses on quality
        const key = `${c.id}\u0000${a}\u0000${b}`;
        let j = seen.get(key);
        if (!j) {
          j = { case: c.id, a, b, winner: await judgePair(engine, o.judge!, c.prompt, x, y, o.signal) };
          if (file) await appendFile(file, `${JSON.stringify(j)}\n`);
        }
        o.judgments?.push(j);
      }
  };
}
