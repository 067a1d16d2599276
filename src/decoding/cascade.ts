/**
 * Cascade: stages of models, cheapest first; accept when the reward clears a threshold (or the
 * stage's models agree), else escalate.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import { promptOf, type ChatRequest } from '../providers/index.js';
import {
  chooseCascadePolicy,
  EscalationReward,
  HeadReward,
  type OutcomeReward,
  type ScoreContext,
} from '../reward/index.js';
import { answerKey, argmax, finish, scoreAll } from './common.js';
import { Ledger } from './ledger.js';
import { nothingFinished, runJobs } from './scheduler.js';
import { outcomeReward, type DecodingStrategy } from './strategy.js';
import type { DecodeLimits, DecodeResult, Generate, Generation, StopReason } from './types.js';

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
  if (!o.stages.length || o.stages.some((s) => !s.length))
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      'a cascade needs at least one stage, each with at least one model',
      { param: 'models' },
    );
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
      let done: Generation[];
      try {
        ({ done } = await runJobs(
          gen,
          ledger,
          models.map((m) => ({ model: m, req })),
          o.concurrency ?? models.length,
        ));
      } catch (e) {
        // a later stage failed entirely (its failures are in the ledger): an earlier answer stands
        if (all.length) break;
        throw e;
      }
      all.push(...done);
      if (!all.length) {
        if (ledger.stopped || ledger.budgetHit) break;
        continue; // this stage failed entirely: escalate
      }
      scores = await scoreAll(o.reward, prompt, all, o.ctx, ledger);
      const best = argmax(scores);
      const ans = done.map((g) => key(g.content));
      const accepted =
        o.mode === 'agreement'
          ? done.length >= 2 && ans[0] !== null && ans.every((a) => a === ans[0])
          : scores[best]! >= threshold;
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
    const r = finish(
      'cascade',
      all,
      scores,
      all.map((g) => key(g.content)),
      chosen,
      ledger,
      stop,
    );
    return { ...r, stage: Math.min(stage, o.stages.length - 1) };
  } finally {
    ledger.close();
  }
}

/**
 * The cascade a request gets: with a learned reward head (and no explicit models or threshold),
 * the per-task cascade `arbiter train-reward` learned — its cheapest policy reaching the quality
 * target on training data (default: the strongest model − 0.01); otherwise the cheapest models
 * first (two, so their agreement counts), then the router's pick, then its best-quality model.
 */
export const cascadeDecoding: DecodingStrategy = {
  name: 'cascade',
  run: async ({ generate, chat, limits, options: o, plan, ctx, defaults, rewards }) => {
    const reward = outcomeReward({ options: o, rewards });
    const learned = reward instanceof HeadReward ? reward.file.cascade : undefined;
    const known = (ms: readonly string[]) => ms.every((m) => plan.has(m));
    if (
      !o.models &&
      o.threshold === undefined &&
      learned &&
      known([
        learned.strongest,
        ...learned.policies.flatMap((p) => Object.values(p.tasks).flatMap((r) => r.stage ?? [])),
      ])
    ) {
      const policy = chooseCascadePolicy(learned, o.qualityTarget);
      const rule = policy.tasks[plan.task] ?? policy.tasks['*'] ?? Object.values(policy.tasks)[0]!;
      const stages = rule.stage ? [rule.stage, [learned.strongest]] : [[learned.strongest]];
      const escalation = new EscalationReward(
        rule,
        (reward as HeadReward).file.reliability,
        (reward as HeadReward).backend,
      );
      return cascade(generate, chat, {
        ...limits,
        stages,
        reward: escalation,
        ctx,
        ...(rule.tau === 'agree' ? { mode: 'agreement' as const } : { threshold: rule.tau }),
      });
    }
    let stages: string[][];
    if (o.models) stages = o.models.map((m) => [m]);
    else {
      const eligible = [...plan.eligible];
      const byCost = [...eligible].sort((a, b) => plan.cost(a)! - plan.cost(b)!);
      const best = [...eligible].sort((a, b) => plan.quality(b)! - plan.quality(a)!)[0]!;
      const first = byCost.filter((m) => m !== best).slice(0, eligible.length > 2 ? 2 : 1);
      stages = [first, ...(first.includes(plan.model) || plan.model === best ? [] : [[plan.model]]), [best]].filter(
        (s) => s.length,
      );
    }
    const threshold =
      o.threshold ?? (reward instanceof HeadReward ? reward.acceptThreshold(plan.task) : defaults.cascadeThreshold);
    return cascade(generate, chat, { ...limits, stages, reward, threshold, ctx });
  },
};
