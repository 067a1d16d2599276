/**
 * Training the learned outcome reward (`arbiter train-reward`): from prompts with several recorded
 * responses and their 0/1 outcomes, one logistic head per task (what agreement means differs
 * between multiple choice, numbers and code), the per-task reliability of every model, and — on
 * 5-fold out-of-fold scores, so not on the data a head was fitted to — the acceptance threshold a
 * cascade uses: the lowest reward at which accepted answers are right at least as often as the
 * best single model is on that task.
 */
import type { ComputeBackend } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import {
  answerExtractor,
  reliabilityOf,
  REWARD_FEATURES,
  rewardFeatures,
  scoreRewards,
  selectIndex,
  type RewardCandidate,
  type RewardModelFile,
  type RewardRecord,
} from '../reward/index.js';
import { fitRewardHead } from './reward-head.js';

export interface FitRewardResult {
  model: RewardModelFile;
  /** Per task: out-of-fold scores of every (prompt, model) and their 0/1 labels. */
  oof: Record<string, { scores: Float32Array; labels: number[] }>;
}

const ANY = '*';
const taskOf = (r: RewardRecord) => r.task ?? ANY;

/** The candidates of one record with their extracted final answers (null for free-text tasks). */
export function recordCandidates(rec: RewardRecord, models: readonly string[]): RewardCandidate[] {
  const answer = answerExtractor(rec.prompt, rec.task);
  return models.map((m) => {
    const response = rec.responses?.[m] ?? '';
    return { model: m, response, answer: answer(response) };
  });
}

export function reliabilityTable(
  records: readonly RewardRecord[],
  models: readonly string[],
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const groups = new Map<string, RewardRecord[]>([[ANY, [...records]]]);
  for (const r of records) groups.set(taskOf(r), [...(groups.get(taskOf(r)) ?? []), r]);
  for (const [t, rs] of groups)
    out[t] = Object.fromEntries(
      models.map((m) => [m, (rs.reduce((s, r) => s + (r.outcomes[m] ?? 0), 0) + 1) / (rs.length + 2)]),
    );
  return out;
}

function features(
  recs: readonly RewardRecord[],
  models: readonly string[],
  rel: RewardModelFile['reliability'],
): Float32Array {
  const F = REWARD_FEATURES.length;
  const x = new Float32Array(recs.length * models.length * F);
  recs.forEach((r, i) =>
    x.set(rewardFeatures(recordCandidates(r, models), reliabilityOf(rel, r.task)), i * models.length * F),
  );
  return x;
}

const labels = (recs: readonly RewardRecord[], models: readonly string[]) =>
  recs.flatMap((r) => models.map((m) => ((r.outcomes[m] ?? 0) >= 0.5 ? 1 : 0)));

export interface FitRewardOptions {
  folds?: number;
  /** Rows whose models have no recorded response are dropped; at least this many models needed. */
  minModels?: number;
  source?: string;
}

/** Trains the reward head on every (prompt, model) of `records`; out-of-fold scores run on `backend`. */
// eslint-disable-next-line max-lines-per-function -- the reward trainer in order: reliability, folds, heads, thresholds and margins from out-of-fold scores
export async function fitRewardModel(
  records: readonly RewardRecord[],
  backend: ComputeBackend,
  options: FitRewardOptions = {},
): Promise<FitRewardResult> {
  const models = [...new Set(records.flatMap((r) => Object.keys(r.responses ?? {})))].sort();
  if (models.length < (options.minModels ?? 2))
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `reward training needs recorded responses of at least ${options.minModels ?? 2} models per prompt; found ${models.length}`,
      { param: 'data' },
    );
  if (records.length < 20)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `reward training needs at least 20 prompts, got ${records.length}`,
      { param: 'data' },
    );
  const folds = options.folds ?? 5;
  const rel = reliabilityTable(records, models);
  const groups = new Map<string, RewardRecord[]>([[ANY, [...records]]]);
  for (const r of records) if (r.task) groups.set(r.task, [...(groups.get(r.task) ?? []), r]);
  const heads: RewardModelFile['heads'] = {};
  const accept: RewardModelFile['accept'] = {};
  const selectMargin: Record<string, number> = {};
  const oofOut: FitRewardResult['oof'] = {};
  for (const [t, rs] of groups) {
    if (rs.length < 10 && t !== ANY) continue; // too few to fit: the '*' head serves it
    const x = features(rs, models, rel);
    const y = labels(rs, models);
    const h = fitRewardHead(x, y);
    heads[t] = { weight: [...h.layer.weight], bias: h.layer.bias![0]! };
    // out-of-fold scores: the threshold and the AUC come from prompts the head did not see
    const F = REWARD_FEATURES.length;
    const M = models.length;
    const oof = new Float32Array(rs.length * M);
    for (let f = 0; f < folds; f++) {
      const tr = rs.flatMap((_, i) => (i % folds === f ? [] : [i]));
      const te = rs.flatMap((_, i) => (i % folds === f ? [i] : []));
      if (!te.length || tr.length < 5) continue;
      const xt = new Float32Array(tr.length * M * F);
      tr.forEach((i, k) => xt.set(x.subarray(i * M * F, (i + 1) * M * F), k * M * F));
      const hf = fitRewardHead(
        xt,
        tr.flatMap((i) => y.slice(i * M, (i + 1) * M)),
        { iterations: 200 },
      );
      const xe = new Float32Array(te.length * M * F);
      te.forEach((i, k) => xe.set(x.subarray(i * M * F, (i + 1) * M * F), k * M * F));
      const s = await scoreRewards(hf, backend, xe);
      te.forEach((i, k) => oof.set(s.subarray(k * M, (k + 1) * M), i * M));
    }
    oofOut[t] = { scores: oof, labels: y };
    // acceptance threshold: accepted answers at least as right as the task's best single model
    const bestQ = Math.max(
      ...models.map((m) => rs.reduce((s, r) => s + ((r.outcomes[m] ?? 0) >= 0.5 ? 1 : 0), 0) / rs.length),
    );
    const order = Array.from(oof.keys()).sort((a, b) => oof[b]! - oof[a]!);
    let right = 0;
    let tau = 1;
    order.forEach((k, n) => {
      right += y[k]!;
      // cut only between distinct scores: candidates tied at the threshold are all accepted
      const boundary = n + 1 === order.length || oof[order[n + 1]!]! < oof[k]!;
      if (boundary && right / (n + 1) >= bestQ && n >= 9) tau = oof[k]!;
    });
    accept[t] = tau;
    // selection margin: the δ with the best out-of-fold selection accuracy (ties: the larger δ)
    const rTask = reliabilityOf(rel, t === ANY ? undefined : t);
    const topJ = models.reduce((a, m, j) => (rTask(m) > rTask(models[a]!) ? j : a), 0);
    let bestAcc = -1;
    for (const delta of SELECT_MARGINS) {
      let hits = 0;
      rs.forEach((_, i) => (hits += y[i * M + selectIndex(oof.subarray(i * M, (i + 1) * M), topJ, delta)]!));
      if (hits >= bestAcc) {
        bestAcc = hits;
        selectMargin[t] = delta;
      }
    }
  }
  const model: RewardModelFile = {
    format: 'arbiter-reward-head',
    version: 1,
    features: [...REWARD_FEATURES],
    models,
    heads,
    reliability: rel,
    accept,
    selectMargin,
    trainedOn: {
      prompts: records.length,
      candidates: records.length * models.length,
      ...(options.source ? { source: options.source } : {}),
    },
  };
  return { model, oof: oofOut };
}

/** Candidate margins tried for selection (1: always the most reliable model). */
const SELECT_MARGINS = [0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1];
