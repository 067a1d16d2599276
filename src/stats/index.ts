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
  sampleRatioMismatch,
  SequentialTest,
  twoProportionZ,
  welchT,
  type ArmSummary,
  type Estimate,
} from './tests.js';
export { beta, gamma, identifiedBest, probabilityBest, thompsonArm, type BanditArm } from './bandit.js';
