import type { FewShot } from './few-shot.js';
import type { Features } from './features.js';
import type { TaskType } from './rules.js';

export interface PromptAnalysis {
  fewShot: FewShot;
  /** Features of the question (the whole prompt when not few-shot). */
  features: Features;
  /** 0..1: a prior from the features (length, reasoning cues, constraints, math, code) until learned. */
  complexity: number;
  task: { label: TaskType; confidence: number; scores: Record<string, number>; source: 'keywords' };
  /**
   * With a trained router model: 1 − the predicted success rate of the training models on this
   * prompt (under its task distribution), and per task.
   */
  difficulty?: { value: number; byTask: Record<string, number> };
}
