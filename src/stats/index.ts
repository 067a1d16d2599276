/** Statistics shared by learning, evaluation, experiments and comparison. */
export { rocAuc, mean } from './metrics.js';
export { pairedBootstrap, seededRandom, shuffle } from './resample.js';
export { calibration } from './calibration.js';
