/**
 * Learned cascades at serving time: the policy and rule types that `arbiter train-reward` writes
 * (learn/cascade.ts fits them), the stage state a rule reads, and the escalation reward that
 * follows a rule live.
 */
import type { ComputeBackend } from '../compute/index.js';
import { REWARD_FEATURES, rewardFeatures, scoreRewards, type RewardCandidate, type RewardHead } from './head.js';
import type { CascadeModel, CascadePolicy, CascadeRule } from './cascade-types.js';
import { reliabilityOf, type RewardModelFile } from './model-file.js';
import type { OutcomeReward, ResponseCandidate, ScoreContext } from './types.js';
import { answerExtractor } from './verify.js';

const F = REWARD_FEATURES.length;

/** The stage's state on one prompt: the escalation features of its most reliable candidate, and whether it agrees. */
export function stageState(
  cands: readonly RewardCandidate[],
  stage: readonly string[],
  reliability: (m: string) => number,
): { x: Float32Array; model: string; agree: boolean } {
  const cs = stage.map((m) => cands.find((c) => c.model === m) ?? { model: m, response: '', answer: null });
  const x = rewardFeatures(cs, reliability);
  const pick = cs.reduce((a, c, i) => (reliability(c.model) > reliability(cs[a]!.model) ? i : a), 0);
  const agree = cs.length > 1 && cs[0]!.answer !== null && cs.every((c) => c.answer === cs[0]!.answer);
  return { x: x.slice(pick * F, (pick + 1) * F), model: cs[pick]!.model, agree };
}

const asHead = (h: { weight: number[]; bias: number }): RewardHead => ({
  features: [...REWARD_FEATURES],
  layer: { in: F, out: 1, weight: Float32Array.from(h.weight), bias: Float32Array.of(h.bias), activation: 'sigmoid' },
});

/** Whether a rule accepts its stage's answer on one prompt (the escalation head runs on the backend). */
export async function ruleAccepts(
  rule: CascadeRule,
  state: { x: Float32Array; agree: boolean },
  backend: ComputeBackend,
): Promise<boolean> {
  if (!rule.stage) return false;
  if (rule.tau === 'agree') return state.agree;
  if (rule.tau === 0 || !rule.head) return true;
  return (await scoreRewards(asHead(rule.head), backend, state.x))[0]! >= rule.tau;
}

/** The cheapest policy whose train quality reaches `quality` (default: within one point of the strongest model). */
export function chooseCascadePolicy(m: CascadeModel, quality = m.strongestTrainQuality - 0.01): CascadePolicy {
  return (
    m.policies.find((p) => p.trainQuality >= quality) ??
    m.policies.reduce((a, b) => (b.trainQuality > a.trainQuality ? b : a))
  );
}

export function describeRule(rule: CascadeRule, strongest: string): string {
  if (!rule.stage) return `straight to ${strongest}`;
  const name = rule.stage.join(' + ');
  return rule.tau === 0
    ? `${name} only`
    : `${name}, accept ${rule.tau === 'agree' ? 'if they agree' : `reward ≥ ${rule.tau}`}`;
}

/**
 * A rule's escalation reward as an outcome reward, for the live cascade: the most reliable
 * candidate gets P(its answer is right) from the rule's head on the candidates' features; the
 * others get 0, so the cascade answers with the most reliable model's response — as the rule was
 * judged on training data.
 */
export class EscalationReward implements OutcomeReward {
  readonly kind = 'head' as const;
  readonly name = 'escalation';

  constructor(
    private readonly rule: CascadeRule,
    private readonly reliabilityTable: RewardModelFile['reliability'],
    private readonly backend: ComputeBackend,
  ) {}

  async score(prompt: string, cands: readonly ResponseCandidate[], ctx?: ScoreContext): Promise<Float32Array> {
    const answer = answerExtractor(prompt, ctx?.task, ctx?.answerKind);
    const rc: RewardCandidate[] = cands.map((c) => ({
      model: c.model,
      response: c.content,
      answer: answer(c.content),
    }));
    const rel = reliabilityOf(this.reliabilityTable, ctx?.task, ctx?.reliability);
    const st = stageState(
      rc,
      rc.map((c) => c.model),
      rel,
    );
    const p = this.rule.head ? (await scoreRewards(asHead(this.rule.head), this.backend, st.x))[0]! : 1;
    const out = new Float32Array(cands.length);
    out[rc.findIndex((c) => c.model === st.model)] = p;
    return out;
  }
}
