/**
 * One pass of one pipeline phase: the budget, the cache, the phase's models in turn under its
 * timeout (JSON, or streamed to the caller for the output phase), and its accounting — each call
 * copied onto the run's record with the phase's tag.
 */
import type { PhaseSettings, PipelineSettings } from '../config/index.js';
import { ArbiterError, ErrorCodes, isArbiterError, type ErrorCode } from '../errors.js';
import { answerExtractor } from '../reward/index.js';
import type { ChatMessage } from '../providers/index.js';
import { complete, completeStream, type CompleteRequest, type CompletionStream, type ExecContext } from './complete.js';
import { OutcomeRecorder, type OutcomeEvent } from './outcome.js';
import type { PhaseResult, PipelineContext } from './pipeline-types.js';
import { cacheKey, render } from './pipeline-text.js';

/** Entries kept in a pipeline output cache (the oldest go first). */
export const PIPELINE_CACHE_ENTRIES = 1000;

/** How a phase's model is called: JSON, or streamed to the caller (the output phase). */
export type PhaseCall = (
  c: ExecContext,
  req: CompleteRequest,
  rec: OutcomeRecorder,
  signal: AbortSignal,
  ended: Promise<OutcomeEvent>,
) => Promise<{ model: string; output: string }>;

export const jsonCall: PhaseCall = async (c, req, rec, signal) => {
  const r = await complete(c, req, rec, signal);
  return { model: r.model, output: r.response.choices[0]?.message.content ?? '' };
};

export const streamCall =
  (hand: (s: CompletionStream) => void): PhaseCall =>
  async (c, req, rec, signal, ended) => {
    const s = await completeStream(c, { ...req, stream: true }, rec, signal);
    hand(s);
    const e = await ended;
    if (e.status === 'error')
      throw new ArbiterError(ErrorCodes.STREAM_INTERRUPTED, `${s.model}: the stream broke (${e.code ?? 'unknown'})`);
    return { model: s.model, output: e.answer ?? '' };
  };

export const emptyResult = (name: string, pass: number): PhaseResult => ({
  name,
  pass,
  status: 'ok',
  fallbacks: [],
  promptTokens: 0,
  completionTokens: 0,
  cost: 0,
  latencyMs: 0,
});

export function asError(reason: unknown): ArbiterError {
  if (isArbiterError(reason)) return reason;
  return new ArbiterError(ErrorCodes.UPSTREAM_TIMEOUT, `cancelled: ${(reason as Error)?.message ?? String(reason)}`);
}

/** Whether phase `a` comes after phase `b` (through `after`). */
export function dependsOn(byName: ReadonlyMap<string, PhaseSettings>, a: string, b: string): boolean {
  const seen = new Set<string>();
  const stack = [...(byName.get(a)?.after ?? [])];
  while (stack.length) {
    const x = stack.pop()!;
    if (x === b) return true;
    if (seen.has(x)) continue;
    seen.add(x);
    stack.push(...(byName.get(x)?.after ?? []));
  }
  return false;
}

export interface PhaseInputs {
  input: string;
  system: ChatMessage[];
  outputs: ReadonlyMap<string, string>;
  spent: number;
  signal: AbortSignal;
  rec: OutcomeRecorder;
  runStart: number;
  /** The model that wrote each phase's output (a reward phase's candidates are scored as theirs). */
  writers: ReadonlyMap<string, string>;
}

/**
 * One pass of one phase: the budget checked, max_tokens capped by the phase's budget share, the
 * cache read, then the phase's models in turn (each through `complete`, under the phase timeout).
 * Its calls go on the run's record, tagged with the phase.
 */
export async function executePhase(
  c: PipelineContext,
  pl: PipelineSettings,
  p: PhaseSettings,
  pass: number,
  call: PhaseCall,
  x: PhaseInputs,
): Promise<PhaseResult> {
  const base: PhaseResult = { ...emptyResult(p.name, pass), startMs: performance.now() - x.runStart };
  if (p.reward) return scorePhase(c, p.reward, base, x);
  const prompt = render(p.instructions ?? '', x.input, x.outputs, pl.contextTokens);
  if (p.model === 'none') return { ...base, output: prompt };
  const models = p.models ?? [p.model];
  if (pl.budgetUsd !== undefined && x.spent >= pl.budgetUsd)
    return {
      ...base,
      status: 'skipped',
      code: ErrorCodes.BUDGET_EXCEEDED,
      reason: `budget spent: $${x.spent.toPrecision(3)} of $${pl.budgetUsd}`,
    };
  const key = pl.cache ? cacheKey(pl.id, p.name, models.join(','), prompt, p.maxTokens) : undefined;
  const hit = key === undefined ? undefined : c.cache.get(key);
  if (hit) return { ...base, model: hit.model, output: hit.output, cached: true };
  const tag = pass > 1 ? `${p.name}#${pass}` : p.name;
  const t0 = performance.now();
  const signal = AbortSignal.any([x.signal, AbortSignal.timeout(p.timeoutMs)]);
  let last: unknown;
  const fallbacks: string[] = [];
  for (const model of models) {
    if (signal.aborted) break;
    let event: OutcomeEvent | undefined;
    let ended!: (e: OutcomeEvent) => void;
    const end = new Promise<OutcomeEvent>((r) => (ended = r));
    const phaseRec = new OutcomeRecorder(
      'complete',
      (e) => {
        event = e;
        ended(e);
      },
      `${x.rec.id}/${tag}`,
    );
    try {
      const maxTokens = capTokens(c, pl, p, model, x.spent);
      if (maxTokens !== undefined && maxTokens < 1)
        throw new ArbiterError(ErrorCodes.BUDGET_EXCEEDED, `${p.name}: its budget share covers no output token`);
      const r = await call(
        p.route ? { ...c, route: { ...p.route, ...(p.route.allow ? { allow: [...p.route.allow] } : {}) } } : c,
        {
          model,
          messages: [...x.system, { role: 'user', content: prompt }],
          ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
          ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
        },
        phaseRec,
        signal,
        end,
      );
      const output = r.output;
      if (key !== undefined) remember(c.cache, key, { output, model: r.model });
      const acc = addUp(base, tally(event, x.rec, tag));
      return { ...base, ...acc, model: r.model, fallbacks, output, latencyMs: performance.now() - t0 };
    } catch (e) {
      phaseRec.finish({ error: e });
      Object.assign(base, addUp(base, tally(event, x.rec, tag)));
      fallbacks.push(model);
      // the run's deadline or the caller: that reason; the phase's own timeout: say so
      last = x.signal.aborted ? asError(x.signal.reason) : signal.aborted ? timeoutError(p) : e;
    }
  }
  const err = isArbiterError(last) ? last : asError(last ?? x.signal.reason);
  return {
    ...base,
    status: 'failed',
    code: err.code,
    reason: err.message,
    fallbacks,
    latencyMs: performance.now() - t0,
  };
}

const timeoutError = (p: PhaseSettings) =>
  new ArbiterError(ErrorCodes.UPSTREAM_TIMEOUT, `phase ${p.name}: no answer within ${p.timeoutMs} ms`);

/** max_tokens for a phase on a model: its own, capped so its output cannot cost more than its budget share. */
function capTokens(
  c: PipelineContext,
  pl: PipelineSettings,
  p: PhaseSettings,
  model: string,
  spent: number,
): number | undefined {
  if (pl.budgetUsd === undefined || p.budgetShare === undefined || model.startsWith('auto')) return p.maxTokens;
  const perToken = c.router.registry.get(model).cost.outputPer1k / 1000;
  const allowed = Math.min(p.budgetShare * pl.budgetUsd, pl.budgetUsd - spent);
  if (!(perToken > 0)) return p.maxTokens;
  const cap = Math.floor(allowed / perToken);
  return p.maxTokens === undefined ? cap : Math.min(p.maxTokens, cap);
}

/** A phase call's accounting, its calls copied onto the run's record with the phase tag. */
function tally(
  e: OutcomeEvent | undefined,
  run: OutcomeRecorder,
  phase: string,
): Pick<PhaseResult, 'promptTokens' | 'completionTokens' | 'cost'> {
  for (const call of e?.calls ?? []) {
    const { attempt: _a, ...rest } = call;
    run.call({ ...rest, phase });
  }
  return { promptTokens: e?.promptTokens ?? 0, completionTokens: e?.completionTokens ?? 0, cost: e?.cost ?? 0 };
}

const addUp = (a: PhaseResult, b: Pick<PhaseResult, 'promptTokens' | 'completionTokens' | 'cost'>) => ({
  promptTokens: a.promptTokens + b.promptTokens,
  completionTokens: a.completionTokens + b.completionTokens,
  cost: a.cost + b.cost,
});

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  cache.delete(key);
  cache.set(key, value);
  if (cache.size > PIPELINE_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
}

/**
 * A reward phase: the earlier phases' outputs scored as their models' answers to the input (the
 * engine's reward of that name, with the run's scoring context); the best passes on, and the
 * verdict says whether it reached the threshold — or, with `agree`, whether two or more answers
 * extract to the same final answer. Scoring by an LLM judge is costed on the phase.
 */
async function scorePhase(
  c: PipelineContext,
  r: NonNullable<PhaseSettings['reward']>,
  base: PhaseResult,
  x: PhaseInputs,
): Promise<PhaseResult> {
  const t0 = performance.now();
  const cands = r.of
    .filter((n) => x.outputs.has(n))
    .map((n) => ({ model: x.writers.get(n) ?? n, content: x.outputs.get(n)! }));
  const failed = (code: ErrorCode, reason: string): PhaseResult => ({ ...base, status: 'failed', code, reason });
  if (!cands.length) return failed(ErrorCodes.PIPELINE_FAILED, `none of ${r.of.join(', ')} has an output to score`);
  const ctx = c.scoreContext ?? {};
  if (r.agree) {
    const key = answerExtractor(x.input, ctx.task, ctx.answerKind);
    const answers = cands.map((k) => key(k.content));
    const pass = cands.length >= 2 && answers[0] !== null && answers.every((a) => a === answers[0]);
    return { ...base, model: cands[0]!.model, output: cands[0]!.content, verdict: pass ? 'pass' : 'fail' };
  }
  const reward = c.rewards?.get(r.name);
  if (!reward)
    return failed(
      ErrorCodes.NOT_FOUND,
      `no reward ${JSON.stringify(r.name)} (have: ${[...(c.rewards?.keys() ?? [])].join(', ')})`,
    );
  let cost = 0;
  const scores = await reward.score(x.input, cands, { ...ctx, signal: x.signal, onCost: (usd) => (cost += usd) });
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  return {
    ...base,
    model: cands[best]!.model,
    output: cands[best]!.content,
    score: scores[best]!,
    verdict: scores[best]! >= r.threshold ? 'pass' : 'fail',
    cost,
    latencyMs: performance.now() - t0,
  };
}
