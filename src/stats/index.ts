/** Statistics shared by learning, evaluation, experiments and comparison. */
export { rocAuc, mean } from './metrics.js';
export { pairedBootstrap, seededRandom, shuffle } from './resample.js';
export { calibration } from './calibration.js';
export {
  Arm,
  confidenceSequence,
  fixedHorizonSize,
  holm,
  mixtureLikelihoodRatio,
  quantileRanks,
  sampleRatioMismatch,
  SequentialTest,
  twoProportionZ,
  twoSidedP,
  welchT,
  type ArmSummary,
  type Estimate,
} from './tests.js';
export {
  MIN_LOOK_STEP,
  obrienFlemingSpending,
  plannedInformation,
  plannedLook,
  plannedZ,
  pooledVariance,
  spendingBoundaries,
  type PlannedLook,
} from './group-sequential.js';
export { beta, gamma, identifiedBest, probabilityBest, thompsonArm, type BanditArm } from './bandit.js';
export { bradleyTerry, mcnemarExact, wilcoxonSignedRank, wilson } from './paired.js';
