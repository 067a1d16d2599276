/**
 * Everything that fits or trains: router models (manifold, analysis head, capabilities, costs),
 * reward heads and cascade policies, distillation of the static embedder, and the writers of
 * their files. Nothing on the serving path imports this room.
 */
export { predictRecords, train, type TrainedRouter } from './router.js';
export { COST_WEIGHTS, type TrainOptions, type TrainReport } from './router-types.js';
export { saveRouterModel } from './artefact.js';
export { fitOod, OOD_SHRINKAGE } from './ood.js';
export { calibrateTask, fitHead, headLogits, type HeadFitOptions, type HeadTrainingSet } from './analysis-head.js';
export {
  fitRewardModel,
  recordCandidates,
  reliabilityTable,
  type FitRewardOptions,
  type FitRewardResult,
} from './reward.js';
export { fitRewardHead } from './reward-head.js';
export { fitCascades, type CostedRecord } from './cascade.js';
export { distill, type DistillOptions } from './distill.js';
export type { OutcomeRecord } from './records.js';
