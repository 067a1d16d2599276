/**
 * Reward-guided decoding as a request option: the router analyses the prompt (task, each model's
 * predicted quality and cost), the strategy is chosen per task unless the request names one, the
 * models come from the request or the decision, and every call goes through the model's gate
 * (cap, queue, breaker, retries) with its cost read from the response's usage.
 *
 * Per-task defaults (`strategy: "auto"`): math → guided search with the process reward; creative
 * writing → best-of-N with the outcome reward and a diversity penalty; tasks with a final answer
 * to compare (knowledge, reasoning) → a cascade when a learned reward (with its thresholds) is
 * configured, else a reliability-weighted vote; everything else → best-of-N.
 */
import { dirname, isAbsolute, resolve } from 'node:path';

import type { ComputeBackend } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ArbiterConfig, ModelRegistry } from '../models/index.js';
import { DEFAULT_OUTPUT_TOKENS, promptOf, promptTokens, tokenAccounting, type ChatRequest, type Upstream } from '../providers/index.js';
import {
  answerKindFor,
  bestOfN,
  cascade,
  chooseCascadePolicy,
  EscalationReward,
  guidedSearch,
  HeadReward,
  JudgeReward,
  OnnxReward,
  VerifierReward,
  voteDecode,
  type AnswerKind,
  type DecodeResult,
  type Generate,
  type OutcomeReward,
  type ProcessReward,
  type ScoreContext,
} from '../reward/index.js';
import { estimateInputTokens, logit, type Decision, type LoadTracker } from '../router/index.js';
import type { Router } from './router.js';

export const DECODE_STRATEGIES = ['auto', 'best_of_n', 'weighted_best_of_n', 'vote', 'cascade', 'guided'] as const;
export type DecodeStrategy = (typeof DECODE_STRATEGIES)[number];

export interface DecodeRequestOptions {
  strategy: DecodeStrategy;
  /** Candidates (best-of-N) or models (vote); default 4 / 3. */
  n?: number;
  /** Models to use (best-of-N: sampled round-robin; vote: each once; cascade: one stage each, in order). */
  models?: string[];
  /** A configured reward by name: verifier, head, onnx, judge. */
  reward?: string;
  /** Dollars for the request. */
  budget?: number;
  deadlineMs?: number;
  /** Cascade acceptance threshold (default: the learned one for the task, else 0.5). */
  threshold?: number;
  /** Learned cascade: the cheapest policy whose training accuracy reaches this (default: the strongest model's − 0.01). */
  qualityTarget?: number;
  answer?: AnswerKind | 'text';
  /** Vote: by the log-odds of each model's predicted quality (default), or one vote each. */
  weighting?: 'reliability' | 'equal';
  beamWidth?: number;
  expansions?: number;
  maxSteps?: number;
  /** Guided: diverse verifier tree search instead of beam search. */
  diverse?: boolean;
  diversity?: number;
}

export interface Rewards {
  outcome: Map<string, OutcomeReward>;
  process: Map<string, ProcessReward>;
}

/** The verifier, plus whatever the config adds. */
export function defaultRewards(extra: { outcome?: Record<string, OutcomeReward>; process?: Record<string, ProcessReward> } = {}): Rewards {
  const v = new VerifierReward();
  return {
    outcome: new Map<string, OutcomeReward>([['verifier', v], ...Object.entries(extra.outcome ?? {})]),
    process: new Map<string, ProcessReward>([['verifier', v], ...Object.entries(extra.process ?? {})]),
  };
}

/** The rewards a config names (paths relative to the config file), plus the verifier. */
export async function loadRewards(cfg: ArbiterConfig, backend: ComputeBackend, upstreams: ReadonlyMap<string, Upstream>, registry: ModelRegistry): Promise<Rewards> {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dirname(cfg.source), p));
  const outcome: Record<string, OutcomeReward> = {};
  const process: Record<string, ProcessReward> = {};
  if (cfg.rewards.head) outcome.head = await HeadReward.load(at(cfg.rewards.head), backend);
  if (cfg.rewards.onnx) outcome.onnx = process.onnx = await OnnxReward.load(at(cfg.rewards.onnx));
  if (cfg.rewards.judge) {
    const { model, maxTokens } = cfg.rewards.judge;
    const gen = gatedGenerate(upstreams, registry);
    outcome.judge = new JudgeReward({
      model,
      maxTokens,
      price: registry.get(model).cost,
      complete: async (req, signal) => (await gen(model, req, signal ?? new AbortController().signal)).response!,
    });
  }
  return defaultRewards({ outcome, process });
}

/** A Generate over the gateway's upstreams: each call through the model's gate, costed from usage. */
export function gatedGenerate(upstreams: ReadonlyMap<string, Upstream>, registry: ModelRegistry, load?: LoadTracker): Generate {
  return async (model, req, signal) => {
    const up = upstreams.get(model);
    if (!up) throw new ArbiterError(ErrorCodes.NOT_FOUND, `no provider for model ${model}`, { param: 'model' });
    const price = registry.get(model).cost;
    const release = load?.acquire(model);
    try {
      const res = await up.gate.run(() => up.provider.complete(req, { signal, timeoutMs: up.timeoutMs }), signal, tokenAccounting(req));
      const content = res.choices[0]?.message.content ?? '';
      const u = res.usage ?? { prompt_tokens: promptTokens(req), completion_tokens: estimateInputTokens(content), total_tokens: 0 };
      const cost = (u.prompt_tokens * price.inputPer1k + u.completion_tokens * price.outputPer1k) / 1000;
      const stopReason = (res.choices[0] as { stop_reason?: string | number | null } | undefined)?.stop_reason;
      return { model, content, finishReason: res.choices[0]?.finish_reason ?? null, ...(stopReason !== undefined ? { stopReason } : {}), cost, tokens: u.prompt_tokens + u.completion_tokens, promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, response: res };
    } finally {
      release?.();
    }
  };
}

/** A call's cost before it is made: the prompt's estimated tokens and max_tokens (or 256) at the model's prices. */
export function estimateCallCost(registry: ModelRegistry) {
  return (model: string, req: ChatRequest): number => {
    const p = registry.get(model).cost;
    return (promptTokens(req) * p.inputPer1k + (req.max_tokens ?? DEFAULT_OUTPUT_TOKENS) * p.outputPer1k) / 1000;
  };
}

function pickStrategy(task: string, rewards: Rewards): Exclude<DecodeStrategy, 'auto'> {
  if (task === 'math') return 'guided';
  if (task === 'creative') return 'best_of_n';
  if (task === 'knowledge' || task === 'reasoning') return rewards.outcome.has('head') ? 'cascade' : 'vote';
  return 'best_of_n';
}

export interface DecodeOutcome extends DecodeResult {
  decision: Decision;
  answerKind: AnswerKind | 'text';
}

/**
 * Runs one request with a decoding strategy. Unknown models or rewards are ARB_NOT_FOUND /
 * ARB_INVALID_REQUEST before any call is made.
 */
export async function decodeRequest(router: Router, upstreams: ReadonlyMap<string, Upstream>, rewards: Rewards, chat: ChatRequest, o: DecodeRequestOptions, signal?: AbortSignal): Promise<DecodeOutcome> {
  for (const m of o.models ?? []) router.registry.get(m);
  const prompt = promptOf(chat);
  const cooling = [...upstreams].filter(([, u]) => !u.gate.available()).map(([id]) => id);
  const decision = await router.route(prompt, { ...(chat.max_tokens ? { maxTokens: chat.max_tokens } : {}), ...(cooling.length && cooling.length < router.registry.size ? { constraints: { deny: cooling } } : {}) });
  const strategy = o.strategy === 'auto' ? pickStrategy(decision.task.label, rewards) : o.strategy;
  const pred = new Map(decision.alternatives.map((a) => [a.model, a]));
  const ctx: ScoreContext = { task: decision.task.label, ...(o.answer ? { answerKind: o.answer } : {}), reliability: (m) => pred.get(m)?.quality };
  const rewardName = o.reward ?? (strategy === 'guided' ? 'verifier' : rewards.outcome.has('head') ? 'head' : 'verifier');
  const limits = {
    ...(o.budget !== undefined ? { budget: o.budget } : {}),
    ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
    ...(signal ? { signal } : {}),
    estimateCost: estimateCallCost(router.registry),
  };
  const gen = gatedGenerate(upstreams, router.registry, router.load);
  const eligible = decision.alternatives.filter((a) => a.eligible).map((a) => a.model);
  const outcome = (): OutcomeReward => {
    const r = rewards.outcome.get(rewardName);
    if (!r) throw new ArbiterError(ErrorCodes.INVALID_REQUEST, `arbiter.reward ${JSON.stringify(rewardName)} is not configured (have: ${[...rewards.outcome.keys()].join(', ')})`, { param: 'arbiter.reward' });
    return r;
  };
  let r: DecodeResult;
  switch (strategy) {
    case 'best_of_n':
    case 'weighted_best_of_n':
      r = await bestOfN(gen, chat, {
        ...limits,
        models: o.models ?? [decision.model],
        n: o.n ?? 4,
        reward: outcome(),
        ctx,
        weighted: strategy === 'weighted_best_of_n',
        ...(o.diversity !== undefined ? { diversity: o.diversity } : decision.task.label === 'creative' ? { diversity: 0.3 } : {}),
      });
      break;
    case 'vote':
      r = await voteDecode(gen, chat, { ...limits, models: o.models ?? eligible.slice(0, o.n ?? 3), ctx, ...(o.weighting === 'equal' ? {} : { weights: (m: string) => Math.max(0.01, logit(pred.get(m)?.quality ?? 0.5)) }) });
      break;
    case 'cascade': {
      const reward = outcome();
      const learned = reward instanceof HeadReward ? reward.file.cascade : undefined;
      const known = (ms: readonly string[]) => ms.every((m) => router.registry.has(m));
      if (!o.models && o.threshold === undefined && learned && known([learned.strongest, ...learned.policies.flatMap((p) => Object.values(p.tasks).flatMap((r) => r.stage ?? []))])) {
        // the per-task cascade learned by train-reward: its cheapest policy reaching the quality target on train (default: the strongest model − 0.01)
        const policy = chooseCascadePolicy(learned, o.qualityTarget);
        const rule = policy.tasks[decision.task.label] ?? policy.tasks['*'] ?? Object.values(policy.tasks)[0]!;
        const stages = rule.stage ? [rule.stage, [learned.strongest]] : [[learned.strongest]];
        const escalation = new EscalationReward(rule, (reward as HeadReward).file.reliability, (reward as HeadReward).backend);
        r = await cascade(gen, chat, { ...limits, stages, reward: escalation, ctx, ...(rule.tau === 'agree' ? { mode: 'agreement' as const } : { threshold: rule.tau }) });
        break;
      }
      let stages: string[][];
      if (o.models) stages = o.models.map((m) => [m]);
      else {
        // the cheapest models first (two, so their agreement counts), then the router's pick, then its best-quality model
        const byCost = [...eligible].sort((a, b) => pred.get(a)!.cost - pred.get(b)!.cost);
        const best = [...eligible].sort((a, b) => pred.get(b)!.quality - pred.get(a)!.quality)[0]!;
        const first = byCost.filter((m) => m !== best).slice(0, eligible.length > 2 ? 2 : 1);
        stages = [first, ...(first.includes(decision.model) || decision.model === best ? [] : [[decision.model]]), [best]].filter((s) => s.length);
      }
      const threshold = o.threshold ?? (reward instanceof HeadReward ? reward.acceptThreshold(decision.task.label) : 0.5);
      r = await cascade(gen, chat, { ...limits, stages, reward, threshold, ctx });
      break;
    }
    case 'guided': {
      const prm = rewards.process.get(o.reward ?? 'verifier');
      if (!prm) throw new ArbiterError(ErrorCodes.INVALID_REQUEST, `arbiter.reward ${JSON.stringify(o.reward)} has no process reward (have: ${[...rewards.process.keys()].join(', ')})`, { param: 'arbiter.reward' });
      r = await guidedSearch(gen, chat, {
        ...limits,
        models: o.models ?? [decision.model],
        prm,
        ctx,
        ...(o.beamWidth !== undefined ? { beamWidth: o.beamWidth } : {}),
        ...(o.expansions !== undefined ? { expansions: o.expansions } : {}),
        ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
        ...(o.diverse !== undefined ? { diverse: o.diverse } : {}),
      });
      break;
    }
  }
  return { ...r, decision, answerKind: ctx.answerKind ?? answerKindFor(decision.task.label, prompt) };
}
