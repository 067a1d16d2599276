/** Learned cascade policies as `arbiter train-reward` writes them into the reward file. */

export interface CascadeRule {
  /** Models of the first stage; null: straight to the strongest model. */
  stage: string[] | null;
  /** Accept the stage's answer when its escalation reward reaches this, or when the stage agrees; 0: always. */
  tau: number | 'agree';
  /** The escalation head (present when tau is a number above 0). */
  head?: { weight: number[]; bias: number };
  /** Train split, this task: accuracy and cost (in calls of the strongest model) per prompt. */
  trainQuality: number;
  trainCost: number;
}

export interface CascadePolicy {
  /** Over the whole train split. */
  trainQuality: number;
  /** Of the strongest model's cost. */
  trainCostShare: number;
  tasks: Record<string, CascadeRule>;
}

export interface CascadeModel {
  strongest: string;
  strongestTrainQuality: number;
  /** Ordered by cost, cheapest first; only the distinct ones. */
  policies: CascadePolicy[];
}
