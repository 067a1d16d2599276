export { arithmeticStepScore, evaluateArithmetic, extractAnswer, extractChoice, extractNumber, optionsOf, scoreSteps, type AnswerKind } from './verify.js';
export { fitRewardHead, REWARD_FEATURES, rewardFeatures, scoreRewards, type RewardCandidate, type RewardHead } from './head.js';
export { vote, type VoteCandidate, type VoteResult } from './vote.js';
