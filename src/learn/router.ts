/**
 * Training a router model from outcome data:
 *   - the questions of the training prompts, embedded, become the manifold's reference points
 *     (task label and per-model outcomes);
 *   - the analysis head (task logits and predicted pool success, one dense layer) is fitted on
 *     them, its temperature and kNN mixing weight on cross-fitted (out-of-fold) predictions;
 *   - each model's capability vector per task (level, slope on the prompt's predicted ease, weight
 *     of its kNN vote) is fitted on the same out-of-fold predictions, so it learns how much
 *     to trust them on prompts it has not seen;
 *   - each model's mean outcome per task becomes its prior, its mean observed cost the cost table.
 * A seeded validation split, disjoint from the training prompts after normalisation, measures
 * what was learned: task accuracy and calibration, per-model ROC AUC of predicted quality
 * (overall and within task), and the quality/cost of routing against single models and the oracle.
 */
import {
  analyze,
  headInput,
  headInputDim,
  mixTaskDistribution,
  OOD_LEVEL,
  OodDetector,
  softmax,
  type OodFile,
  type AnalysisHead,
  type PromptAnalysis,
} from '../analyze/index.js';
import type { ComputeBackend } from '../compute/index.js';
import type { Embedder } from '../embed/index.js';
import { Manifold, type Vote } from '../manifold/index.js';
import {
  calibratedQuality,
  fitCapability,
  logSpan,
  PRIOR_WEIGHT,
  type CostTable,
  type QualityCalibration,
} from '../router/index.js';
import { logit } from '../math.js';
import { calibration as reliabilityCurve, mean, rocAuc, shuffle } from '../stats/index.js';
import { normalizePrompt } from '../text.js';
import { calibrateTask, fitHead, headLogits } from './analysis-head.js';
import type { OutcomeRecord } from './records.js';
import { meansByTask } from './means.js';
import { fitOod } from './ood.js';
import { oofCurve, oofDistribution } from './oof.js';
import { COST_WEIGHTS, type TrainOptions, type TrainReport } from './router-types.js';
import { dict } from '../names.js';

/** The shared pieces of a fitted (fold) model and its predictions for a set of prompts. */
interface Fitted {
  head: AnalysisHead;
  manifold: Manifold;
  strengths: Record<string, Record<string, number>>;
}

interface SetPredictions {
  logits: Float32Array;
  ease: Float32Array;
  votes: Vote[];
  /** q0[i][m]: kNN vote shrunk toward the learned prior under the vote's/head's task distribution. */
  q0: Array<Record<string, number>>;
  dist: Array<Record<string, number>>;
}

interface Prepared {
  records: OutcomeRecord[];
  analyses: PromptAnalysis[];
  emb: Float32Array;
  x: Float32Array;
}

async function prepare(
  embedder: Embedder,
  records: OutcomeRecord[],
  log?: (d: number, t: number) => void,
): Promise<Prepared> {
  const d = embedder.dim;
  const analyses = records.map((r) => analyze(r.prompt));
  const emb = new Float32Array(records.length * d);
  for (let i = 0; i < records.length; i += 1024) {
    emb.set(await embedder.embed(analyses.slice(i, i + 1024).map((a) => a.fewShot.question)), i * d);
    log?.(Math.min(i + 1024, records.length), records.length);
  }
  return { records, analyses, emb, x: headInput(emb, analyses, d) };
}

function subset(p: Prepared, idx: readonly number[], dim: number): Prepared {
  const D = headInputDim(dim);
  const emb = new Float32Array(idx.length * dim);
  const x = new Float32Array(idx.length * D);
  idx.forEach((i, j) => {
    emb.set(p.emb.subarray(i * dim, (i + 1) * dim), j * dim);
    x.set(p.x.subarray(i * D, (i + 1) * D), j * D);
  });
  return { records: idx.map((i) => p.records[i]!), analyses: idx.map((i) => p.analyses[i]!), emb, x };
}

const poolSuccess = (r: OutcomeRecord) => {
  const v = Object.values(r.outcomes);
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN;
};

function learnedPriors(
  records: readonly OutcomeRecord[],
  models: readonly string[],
): Record<string, Record<string, number>> {
  // the overall prior ('*', what a prompt of no known task gets) compares models, so it is their
  // mean on the prompts all of them answered, where there are any: over each model's own prompts
  // a model measured only on easy benchmarks would look better than one measured on all of them
  const common = records.filter((r) => models.every((m) => r.outcomes[m] !== undefined));
  const strengths: Record<string, Record<string, number>> = {};
  for (const m of models) {
    const s = meansByTask(records, (r) => r.outcomes[m]);
    if (common.length) s['*'] = common.reduce((acc, r) => acc + r.outcomes[m]!, 0) / common.length;
    if (Object.keys(s).length) strengths[m] = s;
  }
  return strengths;
}

async function fit(
  p: Prepared,
  tasks: string[],
  models: string[],
  backend: ComputeBackend,
  dim: number,
): Promise<Fitted> {
  const taskOf = new Map(tasks.map((t, i) => [t, i]));
  const head = await fitHead(
    {
      x: p.x,
      task: Int32Array.from(p.records, (r) => (tasks.length === 1 ? 0 : (taskOf.get(r.task ?? '') ?? -1))),
      success: Float64Array.from(p.records, poolSuccess),
    },
    tasks,
    headInputDim(dim),
    {},
    backend,
  );
  const manifold = new Manifold(backend, { dim, models, capacity: Math.max(100_000, p.records.length) });
  await manifold.add(
    p.records.map((r, i) => ({
      embedding: p.emb.subarray(i * dim, (i + 1) * dim),
      outcomes: r.outcomes,
      ...(r.task ? { task: r.task } : {}),
    })),
  );
  return { head, manifold, strengths: learnedPriors(p.records, models) };
}

/** The prior under a task distribution, from learned per-task means (as the router computes it). */
function prior(strengths: Record<string, Record<string, number>>, m: string, dist: Record<string, number>): number {
  const s = strengths[m];
  const entries = Object.entries(dist);
  if (!entries.length) return s?.['*'] ?? 0.5;
  return entries.reduce((acc, [t, w]) => acc + w * (s?.[t] ?? s?.['*'] ?? 0.5), 0);
}

async function predictSet(
  f: Fitted,
  p: Prepared,
  models: readonly string[],
  backend: ComputeBackend,
  k: number,
): Promise<SetPredictions> {
  const { logits, ease } = await headLogits(f.head, backend, p.x);
  const votes = await f.manifold.vote(p.emb, k);
  const T = f.head.tasks.length;
  const q0: SetPredictions['q0'] = [];
  const dist: SetPredictions['dist'] = [];
  votes.forEach((v, i) => {
    const probs = softmax(logits.subarray(i * T, (i + 1) * T), f.head.temperature);
    const dd = mixTaskDistribution(f.head, probs, v.task.distribution);
    dist.push(dd);
    const row: Record<string, number> = dict();
    for (const m of models) {
      const pr = prior(f.strengths, m, dd);
      const q = v.quality[m];
      row[m] = q ? (q.nEff * q.mean + PRIOR_WEIGHT * pr) / (q.nEff + PRIOR_WEIGHT) : pr;
    }
    q0.push(row);
  });
  return { logits, ease, votes, q0, dist };
}

/**
 * Per-record predictions of a trained router (as the engine makes them): the task distribution
 * and, per model, the predicted quality.
 */
export async function predictRecords(
  model: Pick<TrainedRouter, 'head' | 'manifold' | 'strengths' | 'calibration'>,
  embedder: Embedder,
  backend: ComputeBackend,
  records: OutcomeRecord[],
  k = 16,
): Promise<Array<{ dist: Record<string, number>; quality: Record<string, number> }>> {
  const p = await prepare(embedder, records);
  const models = model.manifold.modelIds;
  const pr = await predictSet(model, p, models, backend, k);
  const T = model.head.tasks.length;
  return records.map((_, i) => {
    const ease = Object.fromEntries(model.head.tasks.map((t, j) => [t, pr.ease[i * T + j]!]));
    const quality: Record<string, number> = dict();
    for (const m of models)
      quality[m] = calibratedQuality(model.calibration[m], pr.dist[i]!, ease, pr.q0[i]![m]!) ?? pr.q0[i]![m]!;
    return { dist: pr.dist[i]!, quality };
  });
}

/** Dense ids of string keys, in order of first appearance. */
function groupIds(keys: readonly string[]): { ids: Int32Array; count: number } {
  const seen = new Map<string, number>();
  const ids = Int32Array.from(keys, (k) => seen.get(k) ?? (seen.set(k, seen.size), seen.size - 1));
  return { ids, count: seen.size };
}

export interface TrainedRouter {
  manifold: Manifold;
  head: AnalysisHead;
  calibration: QualityCalibration;
  costs: CostTable;
  strengths: Record<string, Record<string, number>>;
  report: TrainReport;
  /** The out-of-distribution test, fitted on the training split (unless options.ood is false). */
  ood?: { file: OodFile; precision: Float32Array };
}

// eslint-disable-next-line max-lines-per-function -- the training pipeline in order (folds, out-of-fold predictions, head, capabilities, operating points, report); each stage is a helper, this is their sequence
export async function train(
  records: OutcomeRecord[],
  embedder: Embedder,
  backend: ComputeBackend,
  options: TrainOptions = {},
): Promise<TrainedRouter> {
  const valFraction = options.valFraction ?? 0.1;
  const k = options.k ?? 16;
  const folds = options.folds ?? 5;
  const dim = embedder.dim;
  const shuffled = shuffle(records, options.seed ?? 1);
  const nVal = Math.round(shuffled.length * valFraction);
  const trainSet = shuffled.slice(nVal);
  const seen = new Set(trainSet.map((r) => normalizePrompt(r.prompt)));
  const valAll = shuffled.slice(0, nVal);
  const valSet = valAll.filter((r) => !seen.has(normalizePrompt(r.prompt)));
  const models = [...new Set(records.flatMap((r) => Object.keys(r.outcomes)))].sort();
  const labelled = [...new Set(trainSet.flatMap((r) => (r.task ? [r.task] : [])))].sort();
  const tasks = labelled.length ? labelled : ['general'];

  const all = await prepare(embedder, trainSet, options.log);

  // out-of-fold predictions on the training split: calibrate the head, fit the capabilities
  const n = trainSet.length;
  const T = tasks.length;
  const oofLogits = new Float32Array(n * T);
  const oofEase = new Float32Array(n * T);
  const oofVotes: Array<Record<string, number>> = new Array(n);
  const oofQ0: Array<Record<string, number>> = new Array(n);
  const nFolds = Math.min(folds, n);
  if (nFolds >= 2) {
    for (let f = 0; f < nFolds; f++) {
      const held = [...Array(n).keys()].filter((i) => i % nFolds === f);
      const rest = [...Array(n).keys()].filter((i) => i % nFolds !== f);
      const fitted = await fit(subset(all, rest, dim), tasks, models, backend, dim);
      const pr = await predictSet(fitted, subset(all, held, dim), models, backend, k);
      held.forEach((i, j) => {
        oofLogits.set(pr.logits.subarray(j * T, (j + 1) * T), i * T);
        oofEase.set(pr.ease.subarray(j * T, (j + 1) * T), i * T);
        oofVotes[i] = pr.votes[j]!.task.distribution;
        oofQ0[i] = pr.q0[j]!;
      });
      fitted.manifold.free();
    }
  }
  const taskIdx = new Map(tasks.map((t, i) => [t, i]));
  const labels = Int32Array.from(trainSet, (r) => (labelled.length ? (taskIdx.get(r.task ?? '') ?? -1) : 0));
  const taskHead = nFolds >= 2 && T > 1 ? calibrateTask(tasks, oofLogits, oofVotes, labels) : null;
  const calibration: QualityCalibration = {};
  if (nFolds >= 2) {
    for (const m of models) {
      for (const [t, ti] of taskIdx) {
        const rows = [...Array(n).keys()].filter((i) => labels[i] === ti && trainSet[i]!.outcomes[m] !== undefined);
        if (rows.length < 20) continue; // too few to learn a capability: the model keeps kNN + prior
        const cap = fitCapability(
          rows.map((i) => logit(oofEase[i * T + ti]!)),
          rows.map((i) => logit(oofQ0[i]![m]!)),
          rows.map((i) => trainSet[i]!.outcomes[m]!),
        );
        (calibration[m] ??= dict())[t] = cap;
      }
    }
  }

  // the distance is to the nearest group of prompts: a task within one source file (one benchmark
  // subject, one prompt format), so a task gathered from differently written sources is not one blob
  const groups = groupIds(trainSet.map((r) => `${r.task ?? ''}\u0000${r.source.replace(/:\d+$/, '')}`));
  const ood =
    options.ood === false
      ? undefined
      : await fitOod(
          backend,
          all.x,
          headInputDim(dim),
          groups.ids,
          groups.count,
          tasks,
          nFolds >= 2 && T > 1
            ? trainSet.map((_, i) => oofDistribution(taskHead, tasks, oofLogits, oofVotes, i))
            : undefined,
          Math.max(2, nFolds),
        );
  const final = await fit(all, tasks, models, backend, dim);
  if (taskHead) Object.assign(final.head, { temperature: taskHead.temperature, knnWeight: taskHead.knnWeight });
  const manifold = final.manifold;
  const strengths = final.strengths;
  const costs: CostTable = {};
  for (const m of models) {
    const c = meansByTask(trainSet, (r) => r.costs[m]);
    if (Object.keys(c).length) costs[m] = c;
  }

  const report: TrainReport = {
    records: records.length,
    train: trainSet.length,
    validation: valSet.length,
    droppedDuplicates: valAll.length - valSet.length,
    models,
    taskAccuracy: null,
    taskCalibrationError: null,
    taskHead,
    auc: {},
    meanWithinTaskAuc: null,
    singleModels: {},
    oracle: { quality: 0, cost: 0 },
    curve: [],
    operatingPoints: [],
  };
  if (valSet.length) {
    const val = await prepare(embedder, valSet);
    const pr = await predictSet(final, val, models, backend, k);
    const ease = (i: number) => Object.fromEntries(tasks.map((t, j) => [t, pr.ease[i * T + j]!]));
    const predLearned = (i: number, m: string) =>
      calibratedQuality(calibration[m], pr.dist[i]!, ease(i), pr.q0[i]![m]!) ?? pr.q0[i]![m]!;
    const predKnn = (i: number, m: string) => pr.q0[i]![m]!;
    if (ood) {
      const detector = new OodDetector(ood.file, ood.precision);
      const dists = await detector.distances(backend, val.x);
      const flagged = valSet.filter((_, i) => detector.score(dists[i]!, pr.dist[i]!).pValue < OOD_LEVEL);
      report.ood = { level: OOD_LEVEL, flaggedValidation: flagged.length / valSet.length };
    }
    const top = pr.dist.map((d): [string, number] => Object.entries(d).sort((a, b) => b[1] - a[1])[0] ?? ['', 0]);
    const withTask = valSet.map((r, i) => i).filter((i) => valSet[i]!.task !== undefined);
    if (withTask.length && labelled.length) {
      report.taskAccuracy = withTask.filter((i) => top[i]![0] === valSet[i]!.task).length / withTask.length;
      report.taskCalibrationError = reliabilityCurve(
        withTask.map((i) => top[i]![1]),
        withTask.map((i) => (top[i]![0] === valSet[i]!.task ? 1 : 0)),
      ).ece;
    }
    const within = (pred: (i: number, m: string) => number, idx: number[], m: string) => {
      const ts = [...new Set(idx.map((i) => valSet[i]!.task ?? '*'))];
      const a = ts
        .map((t) => {
          const ti = idx.filter((i) => (valSet[i]!.task ?? '*') === t);
          return rocAuc(
            ti.map((i) => pred(i, m)),
            ti.map((i) => valSet[i]!.outcomes[m]!),
          );
        })
        .filter((x) => !Number.isNaN(x));
      return a.length ? mean(a) : NaN;
    };
    for (const m of models) {
      const idx = valSet.map((_, i) => i).filter((i) => valSet[i]!.outcomes[m] !== undefined);
      report.auc[m] = {
        overall: rocAuc(
          idx.map((i) => predLearned(i, m)),
          idx.map((i) => valSet[i]!.outcomes[m]!),
        ),
        withinTask: within(predLearned, idx, m),
        knnWithinTask: within(predKnn, idx, m),
      };
      report.singleModels[m] = {
        quality: mean(idx.map((i) => valSet[i]!.outcomes[m]!)),
        cost: idx.reduce((s, i) => s + (valSet[i]!.costs[m] ?? 0), 0),
      };
    }
    const okAuc = models.map((m) => report.auc[m]!).filter((a) => !Number.isNaN(a.withinTask));
    if (okAuc.length)
      report.meanWithinTaskAuc = {
        learned: mean(okAuc.map((a) => a.withinTask)),
        knn: mean(okAuc.map((a) => a.knnWithinTask)),
      };
    // oracle: the best outcome on each prompt, from the cheapest model reaching it
    for (const r of valSet) {
      const o = (m: string) => r.outcomes[m] ?? 0;
      const m = models.reduce((a, b) =>
        o(b) > o(a) || (o(b) === o(a) && (r.costs[b] ?? 0) < (r.costs[a] ?? 0)) ? b : a,
      );
      report.oracle.quality += (r.outcomes[m] ?? 0) / valSet.length;
      report.oracle.cost += r.costs[m] ?? 0;
    }
    // the router's custom score, quality − w · (log cost rescaled over the models), for a range of w
    for (const weight of COST_WEIGHTS) {
      let quality = 0;
      let cost = 0;
      valSet.forEach((r, i) => {
        const dd = pr.dist[i]!;
        const expCost = models.map((m) =>
          Object.entries(dd).reduce((s, [t, p]) => s + p * (costs[m]?.[t] ?? costs[m]?.['*'] ?? 0), 0),
        );
        const penalty = logSpan(expCost, 1e-9);
        let best = -1; // among the models with an outcome on the prompt (as oofCurve)
        models.forEach((m, j) => {
          if (
            r.outcomes[m] !== undefined &&
            (best < 0 ||
              predLearned(i, m) - weight * penalty[j]! > predLearned(i, models[best]!) - weight * penalty[best]!)
          )
            best = j;
        });
        if (best < 0) return;
        quality += r.outcomes[models[best]!]! / valSet.length;
        cost += r.costs[models[best]!] ?? 0;
      });
      report.curve.push({ costWeight: weight, quality, cost });
    }
  }
  // operating points: on the out-of-fold predictions of the whole training share when there are
  // any (2,000 prompts say more than a 10% validation share), else on the validation curve
  const oof =
    nFolds >= 2
      ? oofCurve(trainSet, models, tasks, costs, calibration, taskHead, oofLogits, oofEase, oofVotes, oofQ0)
      : null;
  const source =
    oof ??
    (report.curve.length
      ? { curve: report.curve, best: Math.max(...models.map((m) => report.singleModels[m]!.quality)) }
      : null);
  if (source) {
    report.operatingPointsFrom = oof ? 'out-of-fold predictions on the training share' : 'the validation share';
    const pick = (goal: number) => source.curve.filter((p) => p.quality >= goal).sort((a, b) => a.cost - b.cost)[0];
    for (const [name, goal] of [
      ['95% of the best single model', 0.95 * source.best],
      ['the best single model minus one point', source.best - 0.01], // eval's name for the same target (eval/targets.ts)
    ] as const) {
      const p = pick(goal);
      if (p) report.operatingPoints.push({ name, goal, ...p });
    }
  }
  return { manifold, head: final.head, calibration, costs, strengths, report, ...(ood ? { ood } : {}) };
}
