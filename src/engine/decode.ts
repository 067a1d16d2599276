/**
 * Reward-guided decoding as a request: the router analyses the prompt (task, each model's
 * predicted quality and cost), the strategy is the request's or, for `auto`, the config's choice
 * for the task (config `decoding.byTask`), and the strategy runs with every call through its
 * model's gate, costed from usage and recorded on the request's outcome.
 */
import { checker, decodeOptionsSchema, type DecodeOptions, type DecodingSettings } from '../config/index.js';
import { DECODING_STRATEGIES, type DecodeResult, type DecodingStrategy, type Rewards } from '../decoding/index.js';
import { promptOf, type ChatRequest, type Upstream } from '../providers/index.js';
import { answerKindFor, type AnswerKind, type ScoreContext } from '../reward/index.js';
import type { Decision, Router } from '../router/index.js';
import { estimateCallCost, gatedGenerate } from './generate.js';
import { summarize, type OutcomeRecorder } from './outcome.js';

export interface DecodeOutcome extends DecodeResult {
  decision: Decision;
  answerKind: AnswerKind | 'text';
}

/** Validates decode options with the `arbiter` option's schema (camelCase keys): the same limits as over HTTP. */
export const checkDecodeOptions = checker<DecodeOptions>(decodeOptionsSchema, '');

/** The strategy `auto` runs for a task; a cascade without a learned reward head becomes a weighted vote. */
export function strategyForTask(task: string, defaults: DecodingSettings, rewards: Rewards): DecodingStrategy {
  let name = defaults.byTask[task] ?? defaults.otherwise;
  if (name === 'cascade' && !rewards.outcome.has('head')) name = 'vote';
  return DECODING_STRATEGIES.get(name)!;
}

export interface DecodeContext {
  router: Router;
  upstreams: ReadonlyMap<string, Upstream>;
  rewards: Rewards;
  defaults: DecodingSettings;
  recorder?: OutcomeRecorder;
}

/** Runs one request with a decoding strategy. Unknown models or rewards fail before any call is made. */
export async function decodeRequest(
  c: DecodeContext,
  chat: ChatRequest,
  options: DecodeOptions,
  signal?: AbortSignal,
): Promise<DecodeOutcome> {
  const o = checkDecodeOptions(options);
  const { router, upstreams } = c;
  for (const m of o.models ?? []) router.registry.get(m);
  const prompt = promptOf(chat);
  const cooling = [...upstreams].filter(([, u]) => !u.gate.available()).map(([id]) => id);
  const decision = await router.route(prompt, {
    ...(chat.max_tokens ? { maxTokens: chat.max_tokens } : {}),
    ...(cooling.length && cooling.length < router.registry.size ? { constraints: { deny: cooling } } : {}),
  });
  const strategy =
    o.strategy === 'auto'
      ? strategyForTask(decision.task.label, c.defaults, c.rewards)
      : DECODING_STRATEGIES.get(o.strategy)!;
  if (c.recorder) {
    c.recorder.strategy = strategy.name;
    c.recorder.decision = summarize(decision);
  }
  const pred = new Map(decision.alternatives.map((a) => [a.model, a]));
  const ctx: ScoreContext = {
    task: decision.task.label,
    ...(o.answer ? { answerKind: o.answer } : {}),
    reliability: (m) => pred.get(m)?.quality,
  };
  const limits = {
    ...(o.budget !== undefined ? { budget: o.budget } : {}),
    ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
    ...(signal ? { signal } : {}),
    estimateCost: estimateCallCost(router.registry),
  };
  const r = await strategy.run({
    generate: gatedGenerate(upstreams, router.registry, router.load, c.recorder),
    chat,
    limits,
    options: o,
    rewards: c.rewards,
    ctx,
    defaults: c.defaults,
    plan: {
      task: decision.task.label,
      model: decision.model,
      eligible: decision.alternatives.filter((a) => a.eligible).map((a) => a.model),
      quality: (m) => pred.get(m)?.quality,
      cost: (m) => pred.get(m)?.cost,
      has: (m) => router.registry.has(m),
    },
  });
  return { ...r, decision, answerKind: ctx.answerKind ?? answerKindFor(decision.task.label, prompt) };
}
