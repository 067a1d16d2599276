/**
 * The evaluation harness (the orchestration; loaders, curve metrics and reports live in src/eval): arbiter's router and the usual baselines on the same held-out prompts
 * of real per-model outcomes.
 *
 * Regimes: a dataset's own train/test split, or seeded k-fold cross-validation (each prompt is
 * routed by a router trained on the other folds). Settings are chosen on training data only:
 * inside each training set, a second, inner cross-validation gives out-of-fold predictions, and
 * the cheapest cost weight reaching each target there is the one applied, once, to the test
 * prompts. Test prompts that also occur in the training data (after normalisation) are left out
 * and counted; the evaluated sets are then asserted disjoint.
 *
 * Routers: arbiter's `custom` score (quality − w·cost′) over a sweep of w, its quality-target mode
 * over a sweep of q, and a plain kNN router (mean outcome of the k nearest training prompts, the
 * same sweep); baselines: each single model, random (expected value), cheapest, oracle (the best
 * outcome on each prompt, from the cheapest model reaching it).
 */
import { analyze } from '../analyze/index.js';
import type { ComputeBackend } from '../compute/index.js';
import type { Embedder } from '../embed/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { logSpan } from '../router/index.js';
import { aiq, cheapestReaching, convexHull, pgrCurve, type CurvePoint } from './curve.js';
import { costMatrix } from './costs.js';
import type { ReportInput } from './report.js';
import { KNOWN_PRICES, QUALITY_TARGETS, TARGETS, type Prices } from './targets.js';
import { COST_WEIGHTS, predictRecords, train, type OutcomeRecord, type TrainedRouter } from '../learn/index.js';
import { calibration, mean, pairedBootstrap, rocAuc, shuffle } from '../stats/index.js';
import { normalizePrompt } from '../text.js';

export interface EvalOptions {
  k?: number;
  seed?: number;
  /** Inner folds for choosing settings on training data (default 5). */
  innerFolds?: number;
  prices?: Prices;
  /** Use this trained router (its own settings) instead of training one: train/test only. */
  model?: Pick<TrainedRouter, 'head' | 'manifold' | 'strengths' | 'calibration' | 'costs'> & {
    operatingPoints?: Array<{ name: string; costWeight: number }>;
  };
  log?: (message: string) => void;
}

/** Per-prompt routing of one train/test split: the chosen model index per router setting. */
interface SplitRouting {
  test: OutcomeRecord[];
  /** router name -> param -> chosen model index per test prompt */
  choices: Map<string, Map<number | string, number[]>>;
  /** target name -> [the cost weight chosen on training data, chosen model per test prompt] */
  operating: Map<string, { param: number; chosen: number[] }>;
  /** Predicted quality per test prompt and model (arbiter). */
  predicted: number[][];
  /** Predicted task label per test prompt. */
  predictedTask: string[];
  routeMs: number;
}

/** The result of an evaluation: the report's input (src/eval/report.ts) is exactly this. */
export interface EvalResult extends ReportInput {
  split: ReportInput['split'] & { costs: 'observed' | 'token counts × list prices' | 'estimated from list prices' };
}

const bad = (msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, msg, { param: 'data' });
};

/** k folds of a seeded shuffle (the one `train` splits with). */
function folds<T>(xs: readonly T[], k: number, seed: number): T[][] {
  const shuffled = shuffle(xs, seed);
  return Array.from({ length: k }, (_, f) => shuffled.filter((_, i) => i % k === f));
}

/** argmax over models of quality − w · cost′ (cost′: log expected cost rescaled over the models). */
function chooseWeighted(quality: readonly number[], expCost: readonly number[], w: number): number {
  const pen = logSpan(expCost, 1e-9);
  let best = 0;
  for (let j = 1; j < quality.length; j++) if (quality[j]! - w * pen[j]! > quality[best]! - w * pen[best]!) best = j;
  return best;
}

/** The cheapest model (by expected cost) predicted to reach q, else the best predicted. */
function chooseTarget(quality: readonly number[], expCost: readonly number[], q: number): number {
  let best = -1;
  for (let j = 0; j < quality.length; j++) if (quality[j]! >= q && (best < 0 || expCost[j]! < expCost[best]!)) best = j;
  if (best >= 0) return best;
  return quality.indexOf(Math.max(...quality));
}

/** Expected cost of each model for a prompt from the trained cost table under the task distribution. */
function expectedCosts(
  costs: TrainedRouter['costs'],
  models: readonly string[],
  dist: Record<string, number>,
  fallback: readonly number[],
): number[] {
  return models.map((m, j) => {
    const c = costs[m];
    if (!c || c['*'] === undefined) return fallback[j]!;
    const entries = Object.entries(dist);
    return entries.length ? entries.reduce((s, [t, p]) => s + p * (c[t] ?? c['*']!), 0) : c['*']!;
  });
}

async function routeSplit(
  trainRecs: OutcomeRecord[],
  testAll: OutcomeRecord[],
  models: string[],
  embedder: Embedder,
  backend: ComputeBackend,
  prices: Prices,
  o: EvalOptions,
): Promise<SplitRouting & { droppedOverlap: number }> {
  const k = o.k ?? 16;
  const seen = new Set(trainRecs.map((r) => normalizePrompt(r.prompt)));
  const test = testAll.filter((r) => !seen.has(normalizePrompt(r.prompt)));
  if (test.some((r) => seen.has(normalizePrompt(r.prompt)))) bad('a test prompt is in the training data'); // the assertion
  const testCost = costMatrix(test, models, prices).cost;
  const choices = new Map<string, Map<number | string, number[]>>();
  const operating = new Map<string, { param: number; chosen: number[] }>();

  // settings chosen on training data: inner out-of-fold predictions
  let model = o.model;
  let weights = new Map<string, number>(
    o.model?.operatingPoints?.map((p, i) => [TARGETS[i]?.name ?? p.name, p.costWeight]) ?? [],
  );
  if (!model) {
    const inner = folds(trainRecs, o.innerFolds ?? 5, (o.seed ?? 1) + 7);
    const oof: Array<{ rec: OutcomeRecord; quality: number[]; dist: Record<string, number> }> = [];
    for (let f = 0; f < inner.length; f++) {
      const rest = inner.filter((_, g) => g !== f).flat();
      const t = await train(rest, embedder, backend, { valFraction: 0, k, seed: o.seed ?? 1, ood: false });
      const preds = await predictRecords(t, embedder, backend, inner[f]!, k);
      preds.forEach((p, i) =>
        oof.push({ rec: inner[f]![i]!, quality: models.map((m) => p.quality[m] ?? 0.5), dist: p.dist }),
      );
      t.manifold.free();
      o.log?.(`  inner fold ${f + 1}/${inner.length}`);
    }
    const oofCost = costMatrix(
      oof.map((x) => x.rec),
      models,
      prices,
    ).cost;
    const trained = await train(trainRecs, embedder, backend, { valFraction: 0, k, seed: o.seed ?? 1, ood: false });
    const bestTrain = Math.max(...models.map((m) => mean(oof.map((x) => x.rec.outcomes[m] ?? 0))));
    const curve = COST_WEIGHTS.map((w) => {
      let q = 0;
      let c = 0;
      oof.forEach((x, i) => {
        const j = chooseWeighted(x.quality, expectedCosts(trained.costs, models, x.dist, oofCost[i]!), w);
        q += (x.rec.outcomes[models[j]!] ?? 0) / oof.length;
        c += oofCost[i]![j]!;
      });
      return { param: w, quality: q, cost: c };
    });
    weights = new Map(TARGETS.map((t) => [t.name, Number(cheapestReaching(curve, t.goal(bestTrain))?.param ?? 0)]));
    model = trained;
  }

  const t0 = performance.now();
  const preds = await predictRecords(model, embedder, backend, test, k);
  const routeMs = performance.now() - t0;
  const predicted = preds.map((p) => models.map((m) => p.quality[m] ?? 0.5));
  const predictedTask = preds.map((p) => Object.entries(p.dist).sort((a, b) => b[1] - a[1])[0]?.[0] ?? '');
  const exp = preds.map((p, i) => expectedCosts(model!.costs, models, p.dist, testCost[i]!));
  // the plain kNN router: mean outcome of the k nearest training prompts
  const emb = await embedder.embed(test.map((r) => analyze(r.prompt).fewShot.question));
  const votes = await model.manifold.vote(emb, k);
  const knnQ = votes.map((v) => models.map((m) => v.quality[m]?.mean ?? 0.5));

  const sweep = (name: string, fn: (i: number, param: number) => number, params: number[]) => {
    const m = new Map<number | string, number[]>();
    for (const p of params)
      m.set(
        p,
        test.map((_, i) => fn(i, p)),
      );
    choices.set(name, m);
  };
  sweep('arbiter (cost weight)', (i, w) => chooseWeighted(predicted[i]!, exp[i]!, w), COST_WEIGHTS);
  sweep('arbiter (quality target)', (i, q) => chooseTarget(predicted[i]!, exp[i]!, q), QUALITY_TARGETS);
  sweep('kNN router', (i, w) => chooseWeighted(knnQ[i]!, exp[i]!, w), COST_WEIGHTS);
  for (const [name, w] of weights)
    operating.set(name, { param: w, chosen: test.map((_, i) => chooseWeighted(predicted[i]!, exp[i]!, w)) });
  if (!o.model) model.manifold.free();
  return { test, choices, operating, predicted, predictedTask, routeMs, droppedOverlap: testAll.length - test.length };
}

/** Merges per-fold routings (same routers and params) in fold order. */
function concat(parts: SplitRouting[]): SplitRouting {
  const first = parts[0]!;
  const choices = new Map<string, Map<number | string, number[]>>();
  for (const [name, byParam] of first.choices) {
    const m = new Map<number | string, number[]>();
    for (const p of byParam.keys())
      m.set(
        p,
        parts.flatMap((x) => x.choices.get(name)!.get(p)!),
      );
    choices.set(name, m);
  }
  const operating = new Map<string, { param: number; chosen: number[] }>();
  for (const [name, op] of first.operating)
    operating.set(name, { param: op.param, chosen: parts.flatMap((x) => x.operating.get(name)?.chosen ?? []) });
  return {
    test: parts.flatMap((x) => x.test),
    choices,
    operating,
    predicted: parts.flatMap((x) => x.predicted),
    predictedTask: parts.flatMap((x) => x.predictedTask),
    routeMs: parts.reduce((s, x) => s + x.routeMs, 0),
  };
}

// eslint-disable-next-line max-lines-per-function -- the report assembled field by field from one set of predictions; splitting it would pass a dozen arrays around
function summarise(
  dataset: string,
  regime: string,
  nTrain: number,
  r: SplitRouting,
  models: string[],
  prices: Prices,
  droppedOverlap: number,
): EvalResult {
  const { test } = r;
  const n = test.length;
  if (!n) bad('no test prompts left to evaluate');
  const { cost, source } = costMatrix(test, models, prices);
  const outcome = test.map((rec) => models.map((m) => rec.outcomes[m] ?? 0));
  const pointOf = (chosen: number[], param: number | string, strong?: number): CurvePoint => ({
    param,
    quality: chosen.reduce((s, j, i) => s + outcome[i]![j]!, 0) / n,
    cost: chosen.reduce((s, j, i) => s + cost[i]![j]!, 0),
    ...(strong !== undefined ? { strongShare: chosen.filter((j) => j === strong).length / n } : {}),
  });
  const singles = models.map((m, j) => ({
    model: m,
    j,
    ...pointOf(
      test.map(() => j),
      m,
    ),
  }));
  const best = singles.reduce((a, b) =>
    b.quality > a.quality || (b.quality === a.quality && b.cost < a.cost) ? b : a,
  );
  const twoModels = models.length === 2;
  const strong = twoModels ? best.j : undefined;
  const weak = twoModels ? 1 - best.j : undefined;
  const routers: EvalResult['routers'] = [];
  for (const [name, byParam] of r.choices)
    routers.push({
      name,
      kind: name.startsWith('arbiter') ? 'arbiter' : 'baseline',
      points: [...byParam].map(([p, ch]) => pointOf(ch, p, strong)),
    });
  routers.push({
    name: 'single models',
    kind: 'baseline',
    points: singles.map((s) => ({
      param: s.model,
      quality: s.quality,
      cost: s.cost,
      ...(twoModels ? { strongShare: s.j === strong ? 1 : 0 } : {}),
    })),
  });
  routers.push({
    name: 'random',
    kind: 'baseline',
    points: [
      {
        param: 'expected',
        quality: mean(singles.map((s) => s.quality)),
        cost: mean(singles.map((s) => s.cost)),
        ...(twoModels ? { strongShare: 0.5 } : {}),
      },
    ],
  });
  const cheapest = singles.reduce((a, b) => (b.cost < a.cost ? b : a));
  routers.push({
    name: 'cheapest',
    kind: 'baseline',
    points: [{ param: cheapest.model, quality: cheapest.quality, cost: cheapest.cost }],
  });
  // the oracle: the best outcome for the prompt, the cheapest model among those reaching it
  const oracleChosen = test.map((_, i) =>
    outcome[i]!.reduce(
      (a, o, b) => (o > outcome[i]![a]! || (o === outcome[i]![a]! && cost[i]![b]! < cost[i]![a]!) ? b : a),
      0,
    ),
  );
  const oracle = pointOf(oracleChosen, 'oracle');
  routers.push({ name: 'oracle', kind: 'baseline', points: [oracle] });

  const lo = Math.min(...singles.map((s) => s.cost));
  const hi = Math.max(...singles.map((s) => s.cost));
  const sweeps = routers.filter((x) => x.points.length > 1 && x.name !== 'single models');
  const metricsAiq = Object.fromEntries(sweeps.map((x) => [x.name, aiq(convexHull(x.points), lo, hi)]));
  const costSavingAt95 = Object.fromEntries(
    sweeps.map((x) => {
      const p = cheapestReaching(x.points, 0.95 * best.quality);
      return [x.name, p ? 1 - p.cost / best.cost : null];
    }),
  );
  const oracleGainShare = Object.fromEntries(
    sweeps.map((x) => [
      x.name,
      (Math.max(...x.points.map((p) => p.quality)) - best.quality) / Math.max(1e-12, oracle.quality - best.quality),
    ]),
  );
  const pgr = twoModels
    ? Object.fromEntries(
        sweeps.map((x) => {
          const c = pgrCurve(x.points, singles[weak!]!.quality, singles[strong!]!.quality);
          return [x.name, { apgr: c.apgr, cpt50: c.cpt(0.5) ?? null, cpt80: c.cpt(0.8) ?? null }];
        }),
      )
    : null;

  const operatingPoints: EvalResult['operatingPoints'] = [...r.operating].map(([target, op]) => {
    const p = pointOf(op.chosen, op.param);
    const got = op.chosen.map((j, i) => outcome[i]![j]!);
    const ci = pairedBootstrap(
      got,
      outcome.map((o) => o[best.j]!),
      { seed: 7 },
    );
    return {
      target,
      param: op.param,
      quality: p.quality,
      cost: p.cost,
      qualityCi: ci.mean,
      diffVsBestCi: ci.diff,
      costShareOfBest: p.cost / best.cost,
    };
  });

  // task accuracy and confusion, where labels exist
  const confusion: Record<string, Record<string, number>> = {};
  let labelled = 0;
  let right = 0;
  test.forEach((rec, i) => {
    if (!rec.task) return;
    labelled++;
    const p = r.predictedTask[i]!;
    if (p === rec.task) right++;
    (confusion[rec.task] ??= {})[p] = (confusion[rec.task]![p] ?? 0) + 1;
  });
  // calibration of predicted quality over every (prompt, model) pair
  const cal = calibration(r.predicted.flat(), outcome.flat());
  const tasks = [...new Set(test.map((x) => x.task ?? '*'))].sort();
  const withinTaskAuc: Record<string, Record<string, number>> = {};
  const all: number[] = [];
  models.forEach((m, j) => {
    withinTaskAuc[m] = {};
    for (const t of tasks) {
      const ix = test.map((_, i) => i).filter((i) => (test[i]!.task ?? '*') === t);
      const a = rocAuc(
        ix.map((i) => r.predicted[i]![j]!),
        ix.map((i) => outcome[i]![j]!),
      );
      withinTaskAuc[m]![t] = a;
    }
    const ok = Object.values(withinTaskAuc[m]!).filter((x) => !Number.isNaN(x));
    if (ok.length) all.push(mean(ok));
  });
  return {
    dataset,
    split: { regime, train: nTrain, test: n, droppedOverlap, costs: source },
    models,
    routers,
    operatingPoints,
    metrics: {
      bestSingle: { model: best.model, quality: best.quality, cost: best.cost },
      oracle: { quality: oracle.quality, cost: oracle.cost },
      aiq: metricsAiq,
      costSavingAt95,
      oracleGainShare,
      pgr,
      strongWeak: twoModels ? { strong: models[strong!]!, weak: models[weak!]! } : null,
      taskAccuracy: labelled ? right / labelled : null,
      confusion,
      calibration: cal,
      withinTaskAuc,
      meanWithinTaskAuc: all.length ? mean(all) : NaN,
      msPerPrompt: r.routeMs / n,
    },
  };
}

const modelsOf = (records: readonly OutcomeRecord[]) =>
  [...new Set(records.flatMap((r) => Object.keys(r.outcomes)))].sort();

/** Train on `trainRecs` (settings chosen on it), evaluate once on `testRecs`. */
export async function evaluateSplit(
  dataset: string,
  trainRecs: OutcomeRecord[],
  testRecs: OutcomeRecord[],
  embedder: Embedder,
  backend: ComputeBackend,
  o: EvalOptions = {},
): Promise<EvalResult> {
  const models = o.model ? [...o.model.manifold.modelIds].sort() : modelsOf(trainRecs);
  const prices = { ...KNOWN_PRICES, ...o.prices };
  const r = await routeSplit(trainRecs, testRecs, models, embedder, backend, prices, o);
  const regime = o.model
    ? 'the given router model on the test split (its settings chosen on its own training data)'
    : 'trained on the train split, settings chosen by cross-validation on it, applied once to the test split';
  return summarise(dataset, regime, trainRecs.length, r, models, prices, r.droppedOverlap);
}

/** Seeded k-fold cross-validation: each prompt routed by a router trained on the other folds. */
export async function evaluateCV(
  dataset: string,
  records: OutcomeRecord[],
  k: number,
  embedder: Embedder,
  backend: ComputeBackend,
  o: EvalOptions = {},
): Promise<EvalResult> {
  if (!(Number.isInteger(k) && k >= 2))
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `folds must be an integer >= 2, got ${k}`, { param: 'folds' });
  const models = modelsOf(records);
  const prices = { ...KNOWN_PRICES, ...o.prices };
  const parts = folds(records, k, o.seed ?? 1);
  const routed: SplitRouting[] = [];
  let dropped = 0;
  for (let f = 0; f < k; f++) {
    o.log?.(`fold ${f + 1}/${k}`);
    const r = await routeSplit(parts.filter((_, g) => g !== f).flat(), parts[f]!, models, embedder, backend, prices, {
      ...o,
      model: undefined,
    });
    dropped += r.droppedOverlap;
    routed.push(r);
  }
  const trainSize = Math.round((records.length * (k - 1)) / k);
  return summarise(
    dataset,
    `${k}-fold cross-validation (seed ${o.seed ?? 1}); settings chosen by an inner cross-validation on each training fold`,
    trainSize,
    concat(routed),
    models,
    prices,
    dropped,
  );
}
