/**
 * Training a router model from outcome data: the questions of the training prompts, embedded,
 * become the manifold's reference points (task label and per-model outcomes); each model's mean
 * observed cost per task becomes the cost table. A seeded validation split, disjoint from the
 * training prompts after normalisation, measures what was learned: task accuracy, per-model ROC
 * AUC of predicted quality (overall and within task), and the quality/cost of routing against
 * every single model and the oracle.
 */
import { analyze } from '../analyze/index.js';
import type { ComputeBackend } from '../compute/index.js';
import type { StaticEmbedder } from '../embed/index.js';
import { mean, normalizePrompt, rocAuc, type OutcomeRecord } from '../eval/index.js';
import { Manifold, type Vote } from '../manifold/index.js';
import { PRIOR_WEIGHT, type CostTable } from '../router/index.js';

export interface TrainOptions {
  valFraction?: number;
  seed?: number;
  k?: number;
  log?: (done: number, total: number) => void;
}

export interface TrainReport {
  records: number;
  train: number;
  validation: number;
  droppedDuplicates: number;
  models: string[];
  taskAccuracy: number | null;
  auc: Record<string, { overall: number; withinTask: number }>;
  singleModels: Record<string, { quality: number; cost: number }>;
  oracle: { quality: number; cost: number };
  /** Routing by max(quality − λ · cost / mean cost) on validation, for a range of λ. */
  curve: Array<{ lambda: number; quality: number; cost: number }>;
}

function shuffle<T>(xs: T[], seed: number): T[] {
  let s = seed >>> 0 || 1;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Mean of value(r) over the records that have one: overall ('*') and per task label. */
function meansByTask(records: readonly OutcomeRecord[], value: (r: OutcomeRecord) => number | undefined): Record<string, number> {
  const acc = new Map<string, { sum: number; n: number }>();
  for (const r of records) {
    const v = value(r);
    if (v === undefined) continue;
    for (const key of new Set(['*', r.task ?? '*'])) {
      const a = acc.get(key) ?? { sum: 0, n: 0 };
      a.sum += v;
      a.n += 1;
      acc.set(key, a);
    }
  }
  return Object.fromEntries([...acc].map(([k, a]) => [k, a.sum / a.n]));
}

async function embedAll(embedder: StaticEmbedder, records: OutcomeRecord[], log?: (d: number, t: number) => void): Promise<Float32Array> {
  const d = embedder.dim;
  const out = new Float32Array(records.length * d);
  for (let i = 0; i < records.length; i += 1024) {
    const part = records.slice(i, i + 1024);
    out.set(await embedder.embed(part.map((r) => analyze(r.prompt).fewShot.question)), i * d);
    log?.(Math.min(i + 1024, records.length), records.length);
  }
  return out;
}

export async function train(records: OutcomeRecord[], embedder: StaticEmbedder, backend: ComputeBackend, options: TrainOptions = {}) {
  const valFraction = options.valFraction ?? 0.1;
  const k = options.k ?? 16;
  const shuffled = shuffle(records, options.seed ?? 1);
  const nVal = Math.round(shuffled.length * valFraction);
  const trainSet = shuffled.slice(nVal);
  const seen = new Set(trainSet.map((r) => normalizePrompt(r.prompt)));
  const valAll = shuffled.slice(0, nVal);
  const valSet = valAll.filter((r) => !seen.has(normalizePrompt(r.prompt)));
  const models = [...new Set(records.flatMap((r) => Object.keys(r.outcomes)))].sort();

  const embTrain = await embedAll(embedder, trainSet, options.log);
  const manifold = new Manifold(backend, { dim: embedder.dim, models, capacity: Math.max(100_000, trainSet.length) });
  const d = embedder.dim;
  await manifold.add(trainSet.map((r, i) => ({ embedding: embTrain.subarray(i * d, (i + 1) * d), outcomes: r.outcomes, ...(r.task ? { task: r.task } : {}) })));

  // learned priors (mean outcome) and observed costs (mean USD), per model, by task and overall ('*')
  const strengths: Record<string, Record<string, number>> = {};
  const costs: CostTable = {};
  for (const m of models) {
    const s = meansByTask(trainSet, (r) => r.outcomes[m]);
    const c = meansByTask(trainSet, (r) => r.costs[m]);
    if (Object.keys(s).length) strengths[m] = s;
    if (Object.keys(c).length) costs[m] = c;
  }

  const report: TrainReport = {
    records: records.length,
    train: trainSet.length,
    validation: valSet.length,
    droppedDuplicates: valAll.length - valSet.length,
    models,
    taskAccuracy: null,
    auc: {},
    singleModels: {},
    oracle: { quality: 0, cost: 0 },
    curve: [],
  };
  if (valSet.length) {
    const votes: Vote[] = await manifold.vote(await embedAll(embedder, valSet), k);
    const labelled = valSet.map((r, i) => [r.task, votes[i]!.task.label] as const).filter(([t]) => t !== undefined);
    report.taskAccuracy = labelled.length ? labelled.filter(([t, p]) => t === p).length / labelled.length : null;
    // the engine's prediction: the vote shrunk toward the learned prior under the vote's task distribution
    const pred = (i: number, m: string) => {
      const v = votes[i]!;
      const dist = Object.entries(v.task.distribution);
      const prior = dist.length ? dist.reduce((s, [t, p]) => s + p * (strengths[m]?.[t] ?? strengths[m]?.['*'] ?? 0.5), 0) : (strengths[m]?.['*'] ?? 0.5);
      const q = v.quality[m];
      return q ? (q.nEff * q.mean + PRIOR_WEIGHT * prior) / (q.nEff + PRIOR_WEIGHT) : prior;
    };
    for (const m of models) {
      const idx = valSet.map((_, i) => i).filter((i) => valSet[i]!.outcomes[m] !== undefined);
      const overall = rocAuc(idx.map((i) => pred(i, m)), idx.map((i) => valSet[i]!.outcomes[m]!));
      const tasks = [...new Set(idx.map((i) => valSet[i]!.task ?? '*'))];
      const within = tasks.map((t) => {
        const ti = idx.filter((i) => (valSet[i]!.task ?? '*') === t);
        return rocAuc(ti.map((i) => pred(i, m)), ti.map((i) => valSet[i]!.outcomes[m]!));
      }).filter((x) => !Number.isNaN(x));
      report.auc[m] = { overall, withinTask: within.length ? mean(within) : NaN };
      report.singleModels[m] = { quality: mean(idx.map((i) => valSet[i]!.outcomes[m]!)), cost: idx.reduce((s, i) => s + (valSet[i]!.costs[m] ?? 0), 0) };
    }
    // oracle: the cheapest model that succeeds, else the cheapest
    for (const r of valSet) {
      const ok = models.filter((m) => (r.outcomes[m] ?? 0) >= 0.5);
      const pool = ok.length ? ok : models;
      const m = pool.reduce((a, b) => ((r.costs[a] ?? 0) <= (r.costs[b] ?? 0) ? a : b));
      report.oracle.quality += (r.outcomes[m] ?? 0) / valSet.length;
      report.oracle.cost += r.costs[m] ?? 0;
    }
    const meanCost = mean(models.map((m) => costs[m]?.['*'] ?? 0).filter((c) => c > 0)) || 1;
    for (const lambda of [0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30]) {
      let quality = 0;
      let cost = 0;
      valSet.forEach((r, i) => {
        const task = r.task ?? '*';
        const best = models.reduce((a, b) => {
          const score = (m: string) => pred(i, m) - (lambda * (costs[m]?.[task] ?? costs[m]?.['*'] ?? 0)) / meanCost;
          return score(b) > score(a) ? b : a;
        });
        quality += (r.outcomes[best] ?? 0) / valSet.length;
        cost += r.costs[best] ?? 0;
      });
      report.curve.push({ lambda, quality, cost });
    }
  }
  return { manifold, costs, strengths, report };
}
