/**
 * Decoding strategies replayed on recorded responses (no live model): each prompt of the test
 * split has every model's recorded response and 0/1 outcome, so selection, voting and cascades
 * can be scored exactly, with every setting chosen on the train split.
 *
 *   - selection: all candidates drawn, one chosen — by plain vote, reliability-weighted vote, or
 *     the learned reward head (argmax);
 *   - cascades: call two cheaper models; accept their answer when the learned escalation reward
 *     (features of the two responses) clears a threshold, else call the strongest model. The pair
 *     and threshold for each target are chosen on the train split; "agreement" cascades (accept
 *     iff the two agree) are the reference.
 * Tasks with extractable answers: multiple choice (knowledge, reasoning) and numbers (math); for
 * others (code) agreement is undefined and only reliability speaks.
 */
import type { ComputeBackend } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { fitRewardHead, fitRewardModel, HeadReward, recordCandidates, reliabilityOf, REWARD_FEATURES, rewardFeatures, scoreRewards, type RewardCandidate, type RewardHead } from '../reward/index.js';
import { pairedBootstrap } from './curve.js';
import type { OutcomeRecord } from './datasets.js';
import { mean, rocAuc } from './metrics.js';

export interface DecodingPoint {
  strategy: string;
  setting: string;
  quality: number;
  cost: number;
  /** Model calls per prompt. */
  calls: number;
  qualityCi?: [number, number];
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
  operatingPoints: Array<{ goal: string; setting: string; quality: number; cost: number; costShareOfBest: number; qualityCi: [number, number] }>;
}

interface Prepared {
  rec: OutcomeRecord;
  cands: RewardCandidate[];
}

export async function evaluateDecoding(train: OutcomeRecord[], testAll: OutcomeRecord[], backend: ComputeBackend, options: { normalize?: (p: string) => string } = {}): Promise<DecodingResult> {
  const models = [...new Set(train.flatMap((r) => Object.keys(r.responses ?? {})))].sort();
  if (models.length < 3) throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'decoding evaluation needs recorded responses of at least 3 models', { param: 'data' });
  const norm = options.normalize ?? ((p: string) => p);
  const seen = new Set(train.map((r) => norm(r.prompt)));
  const test = testAll.filter((r) => !seen.has(norm(r.prompt)));
  // the learned reward (per-task heads and reliabilities), trained on the train split only
  const { model: rewardModel } = await fitRewardModel(train, backend, { minModels: 3 });
  const reliability = (task: string | undefined) => reliabilityOf(rewardModel.reliability, task);
  const costOf = (r: OutcomeRecord, m: string) => r.costs[m] ?? 0;
  const prepare = (rs: readonly OutcomeRecord[]): Prepared[] => rs.map((rec) => ({ rec, cands: recordCandidates(rec, models) }));
  const tr = prepare(train);
  const te = prepare(test);
  const F = REWARD_FEATURES.length;
  const scored = await new HeadReward(rewardModel, backend).scoreBatch(te.map((p) => ({ prompt: p.rec.prompt, candidates: p.cands.map((c) => ({ model: c.model, content: c.response })), ctx: { task: p.rec.task ?? '*' } })));
  const rTest = new Float32Array(te.length * models.length);
  scored.forEach((s, i) => rTest.set(s, i * models.length));
  const yTest = te.flatMap((p) => models.map((m) => p.rec.outcomes[m] ?? 0));
  const aucWithinTask: Record<string, number> = {};
  for (const t of [...new Set(test.map((r) => r.task ?? '*'))]) {
    const idx = te.flatMap((p, i) => ((p.rec.task ?? '*') === t ? models.map((_, j) => i * models.length + j) : []));
    aucWithinTask[t] = rocAuc(idx.map((k) => rTest[k]!), idx.map((k) => yTest[k]!));
  }

  const singles = models.map((m) => ({ model: m, quality: mean(test.map((r) => r.outcomes[m] ?? 0)), cost: test.reduce((s, r) => s + costOf(r, m), 0) }));
  const best = singles.reduce((a, b) => (b.quality > a.quality ? b : a));
  const trainBest = models.reduce((a, b) => (mean(train.map((r) => r.outcomes[b] ?? 0)) > mean(train.map((r) => r.outcomes[a] ?? 0)) ? b : a));
  const allCost = test.reduce((s, r) => s + models.reduce((c, m) => c + costOf(r, m), 0), 0);
  const points: DecodingPoint[] = [];
  const bestOutcomes = test.map((r) => r.outcomes[best.model] ?? 0);
  const point = (strategy: string, setting: string, got: number[], cost: number, calls: number): DecodingPoint => ({
    strategy,
    setting,
    quality: mean(got),
    cost,
    calls,
    qualityCi: pairedBootstrap(got, bestOutcomes, { seed: 11 }).mean,
  });

  // selection among all candidates
  const vote = (p: Prepared, weighted: boolean) => {
    const r = reliability(p.rec.task);
    const score = new Map<string, number>();
    for (const c of p.cands) if (c.answer !== null) score.set(c.answer, (score.get(c.answer) ?? 0) + (weighted ? Math.max(0, Math.log(r(c.model) / (1 - r(c.model)))) : 1));
    const order = [...p.cands].sort((a, b) => r(b.model) - r(a.model));
    if (!score.size) return order[0]!; // nothing to vote on: the most reliable model
    const win = [...score].sort((a, b) => b[1] - a[1] || 0)[0]![0];
    return order.find((c) => c.answer === win)!;
  };
  points.push(point('vote', 'all models, plain', te.map((p) => p.rec.outcomes[vote(p, false).model] ?? 0), allCost, models.length));
  points.push(point('vote', 'all models, reliability-weighted', te.map((p) => p.rec.outcomes[vote(p, true).model] ?? 0), allCost, models.length));
  points.push(point('best-of-n (reward head)', 'all models', te.map((p, i) => {
    let bestJ = 0;
    for (let j = 1; j < models.length; j++) if (rTest[i * models.length + j]! > rTest[i * models.length + bestJ]!) bestJ = j;
    return p.rec.outcomes[models[bestJ]!] ?? 0;
  }), allCost, models.length));

  points.push(point('weighted best-of-n (reward head)', 'all models, rewards summed per answer', te.map((p, i) => {
    const r = reliability(p.rec.task);
    const sum = new Map<string, number>();
    p.cands.forEach((c, j) => c.answer !== null && sum.set(c.answer, (sum.get(c.answer) ?? 0) + rTest[i * models.length + j]!));
    let bestJ = 0;
    for (let j = 1; j < models.length; j++) if (rTest[i * models.length + j]! > rTest[i * models.length + bestJ]!) bestJ = j;
    if (!sum.size) return p.rec.outcomes[models[bestJ]!] ?? 0;
    const win = [...sum].sort((a, b) => b[1] - a[1])[0]![0];
    const pick = p.cands.filter((c) => c.answer === win).sort((a, b) => r(b.model) - r(a.model))[0]!;
    return p.rec.outcomes[pick.model] ?? 0;
  }), allCost, models.length));

  // cascades: a pair of cheaper models, then the strongest (chosen on train)
  const meanCost = (m: string) => mean(train.map((r) => costOf(r, m)));
  const cheaper = models.filter((m) => m !== trainBest && meanCost(m) < meanCost(trainBest));
  const pairs: Array<[string, string]> = [];
  for (let a = 0; a < cheaper.length; a++) for (let b = a + 1; b < cheaper.length; b++) pairs.push([cheaper[a]!, cheaper[b]!]);
  /** The pair's state on one prompt: features for the escalation reward, and the answer it would give. */
  const pairState = (p: Prepared, a: string, b: string) => {
    const r = reliability(p.rec.task);
    const ca = p.cands.find((c) => c.model === a)!;
    const cb = p.cands.find((c) => c.model === b)!;
    const x = rewardFeatures([ca, cb], r);
    const pick = r(a) >= r(b) ? 0 : 1;
    const agree = ca.answer !== null && ca.answer === cb.answer;
    return { x: x.subarray(pick * F, (pick + 1) * F), model: pick === 0 ? a : b, agree };
  };
  const curveTrain: Array<{ setting: string; pair: [string, string]; tau: number | 'agree'; quality: number; costShare: number }> = [];
  const trainBestCost = train.reduce((s, r) => s + costOf(r, trainBest), 0);
  const evalCascade = async (ps: Prepared[], pair: [string, string], tau: number | 'agree', escalationHead: RewardHead | null) => {
    const states = ps.map((p) => pairState(p, pair[0], pair[1]));
    let accept: boolean[];
    if (tau === 'agree') accept = states.map((s) => s.agree);
    else {
      const x = new Float32Array(states.length * F);
      states.forEach((s, i) => x.set(s.x, i * F));
      const pr = await scoreRewards(escalationHead!, backend, x);
      accept = [...pr].map((v) => v >= tau);
    }
    const outcome = ps.map((p, i) => (accept[i] ? (p.rec.outcomes[states[i]!.model] ?? 0) : (p.rec.outcomes[trainBest] ?? 0)));
    const cost = ps.reduce((s, p, i) => s + costOf(p.rec, pair[0]) + costOf(p.rec, pair[1]) + (accept[i] ? 0 : costOf(p.rec, trainBest)), 0);
    return { outcome, cost, calls: 2 + accept.filter((x) => !x).length / ps.length };
  };
  const heads = new Map<string, RewardHead>();
  for (const pair of pairs) {
    // the escalation reward for this pair: P(the pair's answer is right), trained on the train split
    const states = tr.map((p) => pairState(p, pair[0], pair[1]));
    const x = new Float32Array(states.length * F);
    states.forEach((s, i) => x.set(s.x, i * F));
    const h = fitRewardHead(x, tr.map((p, i) => p.rec.outcomes[states[i]!.model] ?? 0), { iterations: 200 }); // task enters through the reliabilities
    heads.set(pair.join('+'), h);
    for (const tau of ['agree', 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95] as const) {
      const r = await evalCascade(tr, pair, tau, h);
      curveTrain.push({ setting: `${pair[0]} + ${pair[1]} → ${trainBest}, accept ${tau === 'agree' ? 'if they agree' : `reward ≥ ${tau}`}`, pair, tau, quality: mean(r.outcome), costShare: r.cost / trainBestCost });
    }
  }
  const trainBestQ = mean(train.map((r) => r.outcomes[trainBest] ?? 0));
  const goals: Array<[string, number]> = [
    ['within one point of the best single model', trainBestQ - 0.01],
    ['97% of the best single model', 0.97 * trainBestQ],
  ];
  const operatingPoints: DecodingResult['operatingPoints'] = [];
  for (const [goal, q] of goals) {
    const pick = curveTrain.filter((c) => c.quality >= q).sort((a, b) => a.costShare - b.costShare)[0];
    if (!pick) continue;
    const r = await evalCascade(te, pick.pair, pick.tau, heads.get(pick.pair.join('+'))!);
    operatingPoints.push({ goal, setting: pick.setting, quality: mean(r.outcome), cost: r.cost, costShareOfBest: r.cost / best.cost, qualityCi: pairedBootstrap(r.outcome, bestOutcomes, { seed: 13 }).mean });
  }
  // the reference agreement cascade the literature quotes, on test: every pair
  for (const pair of pairs) {
    const r = await evalCascade(te, pair, 'agree', null);
    points.push(point('cascade (agreement)', `${pair[0]} + ${pair[1]} → ${trainBest}`, r.outcome, r.cost, r.calls));
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
