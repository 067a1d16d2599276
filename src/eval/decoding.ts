/**
 * Decoding strategies replayed on recorded responses (no live model): each prompt of the test
 * split has every model's recorded response and 0/1 outcome, so selection, voting and cascades
 * can be scored exactly, with every setting chosen on the train split.
 *
 *   - selection: all candidates drawn, one chosen — by plain vote, reliability-weighted vote, or
 *     the learned reward head (argmax);
 *   - cascades, per task (src/reward/cascade.ts): one to three cheaper models first, their answer
 *     accepted when the learned escalation reward clears a threshold (or they agree), else the
 *     strongest model; stages, thresholds and the policy for each goal are chosen on the train
 *     split; plain "agreement" cascades over every pair are the reference.
 * Tasks with extractable answers: multiple choice (knowledge, reasoning) and numbers (math); for
 * others (code) agreement is undefined and only reliability speaks.
 */
import type { ComputeBackend } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import {
  chooseCascadePolicy,
  describeRule,
  HeadReward,
  reliabilityOf,
  ruleAccepts,
  stageState,
  type CascadeRule,
  type RewardCandidate,
} from '../reward/index.js';
import { fitCascades, fitRewardModel, type OutcomeRecord, recordCandidates } from '../learn/index.js';
import { mean, pairedBootstrap, rocAuc } from '../stats/index.js';

export interface DecodingPoint {
  strategy: string;
  setting: string;
  quality: number;
  cost: number;
  /** Model calls per prompt. */
  calls: number;
  qualityCi?: [number, number];
  /** Paired bootstrap 95% interval of (this − the best single model), same prompts. */
  diffCi?: [number, number];
}

export interface DecodingResult {
  split: { train: number; test: number; droppedOverlap: number };
  models: string[];
  best: { model: string; quality: number; cost: number };
  oracle: { quality: number };
  random: { quality: number; cost: number };
  reward: { aucAll: number; aucWithinTask: Record<string, number> };
  points: DecodingPoint[];
  /** The cheapest cascade meeting each goal on the train split, applied once to the test split. */
  operatingPoints: Array<{
    goal: string;
    setting: string;
    quality: number;
    cost: number;
    costShareOfBest: number;
    qualityCi: [number, number];
    diffCi: [number, number];
  }>;
}

interface Prepared {
  rec: OutcomeRecord;
  cands: RewardCandidate[];
}

// eslint-disable-next-line max-lines-per-function -- one evaluation read top to bottom: fit on train, then each policy scored on test with its interval; the steps share the fitted state
export async function evaluateDecoding(
  train: OutcomeRecord[],
  testAll: OutcomeRecord[],
  backend: ComputeBackend,
  options: { normalize?: (p: string) => string } = {},
): Promise<DecodingResult> {
  const models = [...new Set(train.flatMap((r) => Object.keys(r.responses ?? {})))].sort();
  if (models.length < 2)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      'decoding evaluation needs recorded responses of at least 2 models',
      { param: 'data' },
    );
  const norm = options.normalize ?? ((p: string) => p);
  const seen = new Set(train.map((r) => norm(r.prompt)));
  const test = testAll.filter((r) => !seen.has(norm(r.prompt)));
  // the learned reward (per-task heads and reliabilities), trained on the train split only
  const { model: rewardModel } = await fitRewardModel(train, backend, { minModels: 2 });
  const reliability = (task: string | undefined) => reliabilityOf(rewardModel.reliability, task);
  const costOf = (r: OutcomeRecord, m: string) => r.costs[m] ?? 0;
  const prepare = (rs: readonly OutcomeRecord[]): Prepared[] =>
    rs.map((rec) => ({ rec, cands: recordCandidates(rec, models) }));
  const te = prepare(test);
  const head = new HeadReward(rewardModel, backend);
  const scored = await head.scoreBatch(
    te.map((p) => ({
      prompt: p.rec.prompt,
      candidates: p.cands.map((c) => ({ model: c.model, content: c.response })),
      ctx: { task: p.rec.task ?? '*' },
    })),
  );
  const rTest = new Float32Array(te.length * models.length);
  scored.forEach((s, i) => rTest.set(s, i * models.length));
  const yTest = te.flatMap((p) => models.map((m) => p.rec.outcomes[m] ?? 0));
  const aucWithinTask: Record<string, number> = {};
  for (const t of [...new Set(test.map((r) => r.task ?? '*'))]) {
    const idx = te.flatMap((p, i) => ((p.rec.task ?? '*') === t ? models.map((_, j) => i * models.length + j) : []));
    aucWithinTask[t] = rocAuc(
      idx.map((k) => rTest[k]!),
      idx.map((k) => yTest[k]!),
    );
  }

  const singles = models.map((m) => ({
    model: m,
    quality: mean(test.map((r) => r.outcomes[m] ?? 0)),
    cost: test.reduce((s, r) => s + costOf(r, m), 0),
  }));
  const best = singles.reduce((a, b) => (b.quality > a.quality ? b : a));
  const allCost = test.reduce((s, r) => s + models.reduce((c, m) => c + costOf(r, m), 0), 0);
  const points: DecodingPoint[] = [];
  const bestOutcomes = test.map((r) => r.outcomes[best.model] ?? 0);
  const point = (strategy: string, setting: string, got: number[], cost: number, calls: number): DecodingPoint => ({
    strategy,
    setting,
    quality: mean(got),
    cost,
    calls,
    ...(({ mean: qualityCi, diff: diffCi }) => ({ qualityCi, diffCi }))(
      pairedBootstrap(got, bestOutcomes, { seed: 11 }),
    ),
  });

  // selection among all candidates
  const vote = (p: Prepared, weighted: boolean) => {
    const r = reliability(p.rec.task);
    const score = new Map<string, number>();
    for (const c of p.cands)
      if (c.answer !== null)
        score.set(
          c.answer,
          (score.get(c.answer) ?? 0) + (weighted ? Math.max(0, Math.log(r(c.model) / (1 - r(c.model)))) : 1),
        );
    const order = [...p.cands].sort((a, b) => r(b.model) - r(a.model));
    if (!score.size) return order[0]!; // nothing to vote on: the most reliable model
    const win = [...score].sort((a, b) => b[1] - a[1] || 0)[0]![0];
    return order.find((c) => c.answer === win)!;
  };
  points.push(
    point(
      'vote',
      'all models, plain',
      te.map((p) => p.rec.outcomes[vote(p, false).model] ?? 0),
      allCost,
      models.length,
    ),
  );
  points.push(
    point(
      'vote',
      'all models, reliability-weighted',
      te.map((p) => p.rec.outcomes[vote(p, true).model] ?? 0),
      allCost,
      models.length,
    ),
  );
  points.push(
    point(
      'best-of-n (reward head)',
      "all models, the most reliable model's answer unless another's reward beats it by the margin learned on train",
      te.map((p, i) => {
        const j = head.pick(
          p.cands.map((c) => ({ model: c.model, content: c.response })),
          rTest.subarray(i * models.length, (i + 1) * models.length),
          { task: p.rec.task ?? '*' },
        );
        return p.rec.outcomes[models[j]!] ?? 0;
      }),
      allCost,
      models.length,
    ),
  );
  points.push(
    point(
      'best-of-n (reward head)',
      'all models, plain argmax',
      te.map((p, i) => {
        let bestJ = 0;
        for (let j = 1; j < models.length; j++)
          if (rTest[i * models.length + j]! > rTest[i * models.length + bestJ]!) bestJ = j;
        return p.rec.outcomes[models[bestJ]!] ?? 0;
      }),
      allCost,
      models.length,
    ),
  );

  points.push(
    point(
      'weighted best-of-n (reward head)',
      'all models, rewards summed per answer',
      te.map((p, i) => {
        const r = reliability(p.rec.task);
        const sum = new Map<string, number>();
        p.cands.forEach(
          (c, j) => c.answer !== null && sum.set(c.answer, (sum.get(c.answer) ?? 0) + rTest[i * models.length + j]!),
        );
        let bestJ = 0;
        for (let j = 1; j < models.length; j++)
          if (rTest[i * models.length + j]! > rTest[i * models.length + bestJ]!) bestJ = j;
        if (!sum.size) return p.rec.outcomes[models[bestJ]!] ?? 0;
        const win = [...sum].sort((a, b) => b[1] - a[1])[0]![0];
        const pick = p.cands.filter((c) => c.answer === win).sort((a, b) => r(b.model) - r(a.model))[0]!;
        return p.rec.outcomes[pick.model] ?? 0;
      }),
      allCost,
      models.length,
    ),
  );

  // Cascades, per task (src/reward/cascade.ts): learned on the train split, every policy applied
  // once to the test split; each goal takes the cheapest policy reaching it on train.
  const cas = await fitCascades(train, rewardModel, backend);
  const strongest = cas.strongest;
  const runPolicy = async (ps: Prepared[], rules: Record<string, CascadeRule>) => {
    const outcome: number[] = [];
    let cost = 0;
    let calls = 0;
    for (const p of ps) {
      const rule = rules[p.rec.task ?? '*'] ?? Object.values(rules)[0]!;
      const st = rule.stage ? stageState(p.cands, rule.stage, reliability(p.rec.task)) : null;
      const accept = st ? await ruleAccepts(rule, st, backend) : false;
      outcome.push(accept ? (p.rec.outcomes[st!.model] ?? 0) : (p.rec.outcomes[strongest] ?? 0));
      cost += (rule.stage ?? []).reduce((s, m) => s + costOf(p.rec, m), 0) + (accept ? 0 : costOf(p.rec, strongest));
      calls += (rule.stage?.length ?? 0) + (accept ? 0 : 1);
    }
    return { outcome, cost, calls: calls / ps.length };
  };
  const goals: Array<[string, number]> = [
    ['within one point of the best single model', cas.strongestTrainQuality - 0.01],
    ['97% of the best single model', 0.97 * cas.strongestTrainQuality],
  ];
  const operatingPoints: DecodingResult['operatingPoints'] = [];
  for (const [goal, q] of goals) {
    const pol = chooseCascadePolicy(cas, q);
    const r = await runPolicy(te, pol.tasks);
    const setting = `per task: ${Object.entries(pol.tasks)
      .map(([t, rule]) => `${t}: ${describeRule(rule, strongest)}`)
      .join('; ')}`;
    const ci = pairedBootstrap(r.outcome, bestOutcomes, { seed: 13 });
    operatingPoints.push({
      goal,
      setting,
      quality: mean(r.outcome),
      cost: r.cost,
      costShareOfBest: r.cost / best.cost,
      qualityCi: ci.mean,
      diffCi: ci.diff,
    });
  }
  for (const pol of cas.policies) {
    const r = await runPolicy(te, pol.tasks);
    points.push(
      point(
        'cascade (per task, learned)',
        `train ${pol.trainQuality.toFixed(3)} at ${(100 * pol.trainCostShare).toFixed(0)}%`,
        r.outcome,
        r.cost,
        r.calls,
      ),
    );
  }
  // the reference agreement cascade the literature quotes, on test: every pair of cheaper models
  const cheaper = models.filter(
    (m) => m !== strongest && mean(train.map((r) => costOf(r, m))) < mean(train.map((r) => costOf(r, strongest))),
  );
  for (const [i, a] of cheaper.entries())
    for (const b of cheaper.slice(i + 1)) {
      const rule: CascadeRule = { stage: [a, b], tau: 'agree', trainQuality: 0, trainCost: 0 };
      const r = await runPolicy(
        te,
        Object.fromEntries([...new Set(test.map((x) => x.task ?? '*'))].map((t) => [t, rule])),
      );
      points.push(point('cascade (agreement)', `${a} + ${b} → ${strongest}`, r.outcome, r.cost, r.calls));
    }
  return {
    split: { train: train.length, test: test.length, droppedOverlap: testAll.length - test.length },
    models,
    best,
    oracle: { quality: mean(test.map((r) => (models.some((m) => (r.outcomes[m] ?? 0) >= 0.5) ? 1 : 0))) },
    random: { quality: mean(singles.map((s) => s.quality)), cost: mean(singles.map((s) => s.cost)) },
    reward: { aucAll: rocAuc([...rTest], yTest), aucWithinTask },
    points,
    operatingPoints,
  };
}
