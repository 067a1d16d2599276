/**
 * What the trainer computes from out-of-fold predictions of the training share: each prompt's task
 * distribution as routing mixes it, and the routing curve its operating points are chosen on.
 */
import { softmax } from '../analyze/index.js';
import { calibratedQuality, logSpan, type CostTable, type QualityCalibration } from '../router/index.js';
import { dict } from '../names.js';
import type { OutcomeRecord } from './records.js';
import { COST_WEIGHTS, type TrainReport } from './router-types.js';

/** Prompt i's out-of-fold task distribution: its head's probabilities mixed with its kNN vote, as routing mixes them. */
export function oofDistribution(
  taskHead: { temperature: number; knnWeight: number } | null,
  tasks: readonly string[],
  logits: Float32Array,
  votes: ReadonlyArray<Record<string, number> | undefined>,
  i: number,
): Record<string, number> {
  const T = tasks.length;
  const probs = softmax(logits.subarray(i * T, (i + 1) * T), taskHead?.temperature ?? 1);
  const w = votes[i] && Object.keys(votes[i]!).length ? (taskHead?.knnWeight ?? 0) : 0;
  const dist: Record<string, number> = dict();
  tasks.forEach((t, j) => (dist[t] = (1 - w) * probs[j]!));
  for (const [t, p] of Object.entries(votes[i] ?? {})) dist[t] = (dist[t] ?? 0) + w * p;
  return dist;
}

/** The routing curve (custom score over COST_WEIGHTS) on out-of-fold predictions of the training share. */
export function oofCurve(
  recs: readonly OutcomeRecord[],
  models: readonly string[],
  tasks: readonly string[],
  costs: CostTable,
  calibration: QualityCalibration,
  taskHead: { temperature: number; knnWeight: number } | null,
  logits: Float32Array,
  ease: Float32Array,
  votes: ReadonlyArray<Record<string, number>>,
  q0: ReadonlyArray<Record<string, number>>,
): { curve: TrainReport['curve']; best: number } | null {
  if (!models.some((m) => recs.some((r) => (r.costs[m] ?? 0) > 0))) return null;
  const T = tasks.length;
  const rows = recs.map((_, i) => {
    const dist = oofDistribution(taskHead, tasks, logits, votes, i);
    const e = Object.fromEntries(tasks.map((t, j) => [t, ease[i * T + j]!]));
    const quality = models.map((m) => calibratedQuality(calibration[m], dist, e, q0[i]![m]!) ?? q0[i]![m]!);
    const expCost = models.map((m) =>
      Object.entries(dist).reduce((s, [t, p]) => s + p * (costs[m]?.[t] ?? costs[m]?.['*'] ?? 0), 0),
    );
    return { quality, penalty: logSpan(expCost, 1e-9) };
  });
  const curve = COST_WEIGHTS.map((weight) => {
    let quality = 0;
    let cost = 0;
    rows.forEach((r, i) => {
      // only models with an outcome on the prompt can be scored on it (sources may cover different models)
      let best = -1;
      for (let j = 0; j < models.length; j++)
        if (
          recs[i]!.outcomes[models[j]!] !== undefined &&
          (best < 0 || r.quality[j]! - weight * r.penalty[j]! > r.quality[best]! - weight * r.penalty[best]!)
        )
          best = j;
      if (best < 0) return;
      quality += recs[i]!.outcomes[models[best]!]! / recs.length;
      cost += recs[i]!.costs[models[best]!] ?? 0;
    });
    return { costWeight: weight, quality, cost };
  });
  const best = Math.max(...models.map((m) => recs.reduce((s, r) => s + (r.outcomes[m] ?? 0), 0) / recs.length));
  return { curve, best };
}
