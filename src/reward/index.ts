export { answerExtractor, answerKindFor, arithmeticStepScore, evaluateArithmetic, extractAnswer, extractChoice, extractNumber, optionsOf, scoreSteps, type AnswerKind } from './verify.js';
export { fitRewardHead, REWARD_FEATURES, rewardFeatures, scoreRewards, type RewardCandidate, type RewardHead } from './head.js';
export { vote, type VoteCandidate, type VoteResult } from './vote.js';
export type { ResponseCandidate, OutcomeReward, ProcessReward, RewardKind, ScoreContext } from './types.js';
export { fitRewardModel, headFor, recordCandidates, selectIndex, reliabilityOf, reliabilityTable, type FitRewardOptions, type FitRewardResult, type RewardModelFile, type RewardRecord } from './train.js';
export { HeadReward, JudgeReward, OnnxReward, parseJudgeScore, splitSteps, VerifierReward, type JudgeOptions, type OnnxRewardOptions } from './rewards.js';
export {
  bestOfN,
  cascade,
  guidedSearch,
  textSimilarity,
  voteDecode,
  type BestOfNOptions,
  type CascadeOptions,
  type DecodeLimits,
  type DecodeResult,
  type Generate,
  type Generation,
  type GuidedOptions,
  type ScoredCandidate,
  type StopReason,
  type VoteDecodeOptions,
} from './strategies.js';
export { chooseCascadePolicy, describeRule, EscalationReward, fitCascades, ruleAccepts, stageState, type CascadeModel, type CascadePolicy, type CascadeRule, type CostedRecord } from './cascade.js';
