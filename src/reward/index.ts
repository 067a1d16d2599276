export {
  answerExtractor,
  answerKindFor,
  arithmeticStepScore,
  evaluateArithmetic,
  extractAnswer,
  extractChoice,
  extractNumber,
  optionsOf,
  scoreSteps,
  type AnswerKind,
} from './verify.js';
export { REWARD_FEATURES, rewardFeatures, scoreRewards, type RewardCandidate, type RewardHead } from './head.js';
export { vote, type VoteCandidate, type VoteResult } from './vote.js';
export type { ResponseCandidate, OutcomeReward, ProcessReward, RewardKind, ScoreContext } from './types.js';
export { headFor, reliabilityOf, selectIndex, type RewardModelFile, type RewardRecord } from './model-file.js';
export {
  HeadReward,
  JudgeReward,
  OnnxReward,
  parseJudgeScore,
  splitSteps,
  VerifierReward,
  type JudgeOptions,
  type OnnxRewardOptions,
} from './rewards.js';
export { chooseCascadePolicy, describeRule, EscalationReward, ruleAccepts, stageState } from './escalation.js';
export type { CascadeModel, CascadePolicy, CascadeRule } from './cascade-types.js';
