export {
  analyzeExperiment,
  armTarget,
  emptyArm,
  type ArmReport,
  type Comparison,
  type ExperimentReport,
} from './analyze.js';
export { armAt, Experiments, unitHash, type Assignment, type ExperimentState } from './experiments.js';
export { reportMarkdown, reportSvg, seriesOverTime } from './report.js';
