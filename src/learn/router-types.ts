/** The router trainer's options and report, and the cost weights its operating points are searched over. */

export const COST_WEIGHTS = [0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2];

export interface TrainOptions {
  valFraction?: number;
  seed?: number;
  k?: number;
  /** Folds for the out-of-fold predictions that calibrate the head and fit capabilities (default 5). */
  folds?: number;
  log?: (done: number, total: number) => void;
  /** Fit the out-of-distribution test (default true; evaluation, which does not route with it, skips it). */
  ood?: boolean;
}

export interface TrainReport {
  records: number;
  train: number;
  validation: number;
  droppedDuplicates: number;
  models: string[];
  taskAccuracy: number | null;
  /** Expected calibration error of the task confidence (10 bins) on validation. */
  taskCalibrationError: number | null;
  /** Fitted on out-of-fold predictions of the training split. */
  taskHead: { temperature: number; knnWeight: number; logLoss: number } | null;
  /** ROC AUC of the predicted quality against the outcome: learned (the engine's) and kNN vote alone. */
  auc: Record<string, { overall: number; withinTask: number; knnWithinTask: number }>;
  /** Mean over models of the within-task AUC (the figure that says whether routing can beat the task prior). */
  meanWithinTaskAuc: { learned: number; knn: number } | null;
  singleModels: Record<string, { quality: number; cost: number }>;
  oracle: { quality: number; cost: number };
  /** Routing on validation by the router's custom score, quality − w · cost′ (log cost rescaled to [0, 1]), for a range of w. */
  curve: Array<{ costWeight: number; quality: number; cost: number }>;
  /** The cheapest point reaching each goal, on training data only (use its costWeight in the config); quality and cost as measured there. */
  operatingPoints: Array<{ name: string; goal: number; costWeight: number; quality: number; cost: number }>;
  operatingPointsFrom?: string;
  /** Share of the validation prompts the out-of-distribution test flags at its default level. */
  ood?: { level: number; flaggedValidation: number };
}

/** Mean of value(r) over the records that have one: overall ('*') and per task label. */
