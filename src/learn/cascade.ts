/**
 * Learning per-task cascades from recorded outcomes (`arbiter train-reward`, `arbiter
 * eval-decoding`): for each task, a first stage of one to three cheaper models whose answer is
 * accepted when its escalation reward clears a threshold (or when the stage agrees), else the
 * strongest model — or going straight to the strongest model. The escalation reward is a logistic
 * head per (task, stage) on the features of the stage's most reliable candidate; thresholds are
 * judged on 5-fold out-of-fold scores. Policies are the exact cost–quality Pareto front over the
 * per-task choices (cost in calls of the strongest model), so a caller picks the cheapest policy
 * meeting its quality goal on the training data.
 */
import type { ComputeBackend } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { recordCandidates } from './reward.js';
import {
  REWARD_FEATURES,
  reliabilityOf,
  scoreRewards,
  stageState,
  type CascadeModel,
  type CascadePolicy,
  type CascadeRule,
  type RewardModelFile,
  type RewardRecord,
} from '../reward/index.js';
import { fitRewardHead } from './reward-head.js';

export type CostedRecord = RewardRecord & { costs: Record<string, number> };

const TAUS = [0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95] as const;
const FOLDS = 5;
const F = REWARD_FEATURES.length;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

// eslint-disable-next-line max-lines-per-function -- per task: candidate stages × thresholds judged out of fold, then the Pareto front over the per-task choices
export async function fitCascades(
  records: readonly CostedRecord[],
  reward: RewardModelFile,
  backend: ComputeBackend,
): Promise<CascadeModel> {
  const models = reward.models;
  const acc = (m: string) => mean(records.map((r) => r.outcomes[m] ?? 0));
  const strongest = models.reduce((a, b) => (acc(b) > acc(a) ? b : a));
  const costOf = (r: CostedRecord, m: string) => r.costs[m] ?? 0;
  const meanCost = (m: string) => mean(records.map((r) => costOf(r, m)));
  const unit = meanCost(strongest);
  if (!(unit > 0))
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `cascades need recorded costs; ${strongest} has none`, {
      param: 'data',
    });
  const cheaper = models.filter((m) => m !== strongest && meanCost(m) < unit);
  const top6 = [...cheaper].sort((a, b) => acc(b) - acc(a)).slice(0, 6);
  const stages: string[][] = [
    ...cheaper.map((m) => [m]),
    ...cheaper.flatMap((a, i) => cheaper.slice(i + 1).map((b) => [a, b])),
    ...top6.flatMap((a, i) => top6.slice(i + 1).flatMap((b, j) => top6.slice(i + j + 2).map((c) => [a, b, c]))),
  ];
  const tasks = [...new Set(records.map((r) => r.task ?? '*'))];
  type Option = CascadeRule & { q: number; c: number };
  const choices = new Map<string, Option[]>();
  for (const t of tasks) {
    const rs = records.filter((r) => (r.task ?? '*') === t);
    const rel = reliabilityOf(reward.reliability, t);
    const cands = rs.map((r) => recordCandidates(r, models));
    const sum = (f: (r: CostedRecord, i: number) => number) => rs.reduce((s, r, i) => s + f(r, i), 0);
    const opts: Option[] = [];
    const direct = { q: sum((r) => r.outcomes[strongest] ?? 0), c: sum((r) => costOf(r, strongest)) / unit };
    opts.push({ stage: null, tau: 0, ...direct, trainQuality: direct.q / rs.length, trainCost: direct.c / rs.length });
    for (const stage of stages) {
      const st = cands.map((c) => stageState(c, stage, rel));
      const x = new Float32Array(st.length * F);
      st.forEach((v, i) => x.set(v.x, i * F));
      const y = rs.map((r, i) => r.outcomes[st[i]!.model] ?? 0);
      const full = fitRewardHead(x, y, { iterations: 150 });
      const oof = new Float32Array(rs.length);
      for (let f = 0; f < FOLDS; f++) {
        const trI = rs.flatMap((_, i) => (i % FOLDS === f ? [] : [i]));
        const teI = rs.flatMap((_, i) => (i % FOLDS === f ? [i] : []));
        if (!teI.length || trI.length < 5) continue;
        const xt = new Float32Array(trI.length * F);
        trI.forEach((i, k) => xt.set(x.subarray(i * F, (i + 1) * F), k * F));
        const h = fitRewardHead(
          xt,
          trI.map((i) => y[i]!),
          { iterations: 150 },
        );
        const xe = new Float32Array(teI.length * F);
        teI.forEach((i, k) => xe.set(x.subarray(i * F, (i + 1) * F), k * F));
        const sc = await scoreRewards(h, backend, xe);
        teI.forEach((i, k) => (oof[i] = sc[k]!));
      }
      const stageCost = (r: CostedRecord) => stage.reduce((s, m) => s + costOf(r, m), 0);
      for (const tau of [...(stage.length > 1 ? (['agree'] as const) : []), ...TAUS]) {
        const accept = (i: number) => (tau === 'agree' ? st[i]!.agree : oof[i]! >= tau);
        const q = sum((r, i) => (accept(i) ? (r.outcomes[st[i]!.model] ?? 0) : (r.outcomes[strongest] ?? 0)));
        const c = sum((r, i) => stageCost(r) + (accept(i) ? 0 : costOf(r, strongest))) / unit;
        opts.push({
          stage,
          tau,
          ...(typeof tau === 'number' && tau > 0
            ? { head: { weight: [...full.layer.weight], bias: full.layer.bias![0]! } }
            : {}),
          q,
          c,
          trainQuality: q / rs.length,
          trainCost: c / rs.length,
        });
      }
    }
    choices.set(t, opts);
  }
  // the exact cost–quality Pareto front over per-task choices (a multiple-choice knapsack: each
  // task's own front, merged task by task, dominated combinations dropped after each merge)
  type Combo = { q: number; c: number; picks: Array<[string, Option]> };
  const front = (xs: Combo[]): Combo[] => {
    const sorted = [...xs].sort((a, b) => a.c - b.c || b.q - a.q);
    const out: Combo[] = [];
    for (const x of sorted) if (!out.length || x.q > out[out.length - 1]!.q + 1e-9) out.push(x);
    return out;
  };
  let combos: Combo[] = [{ q: 0, c: 0, picks: [] }];
  for (const t of tasks) {
    const own = front(choices.get(t)!.map((o) => ({ q: o.q, c: o.c, picks: [[t, o] as [string, Option]] })));
    combos = front(
      combos.flatMap((a) => own.map((b) => ({ q: a.q + b.q, c: a.c + b.c, picks: [...a.picks, ...b.picks] }))),
    );
  }
  const policies: CascadePolicy[] = combos.map((x) => ({
    trainQuality: x.q / records.length,
    trainCostShare: x.c / records.length,
    tasks: Object.fromEntries(x.picks.map(([t, { q: _q, c: _c, ...rule }]) => [t, rule])),
  }));
  policies.sort((a, b) => a.trainCostShare - b.trainCostShare);
  return { strongest, strongestTrainQuality: acc(strongest), policies };
}
