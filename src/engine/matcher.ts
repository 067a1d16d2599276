/**
 * The matcher: for `model: "agent"` (or `agent:<profile>`) it finds the prompt's profile — named,
 * else the first whose keywords the prompt contains, else the first that takes the router's task —
 * and chooses one model or the profile's pipeline: the pipeline when the prompt is hard enough (the
 * router's difficulty where it has one, else the analyser's complexity, against the profile's
 * `minComplexity`) and its estimated cost fits the profile's budget; otherwise one model — the
 * first preferred model that is configured and not cooling down, else the router under the
 * strategy the requirements ask for. The choice and why go into the answer's reason.
 */
import type { ArbiterConfig, ProfileSettings, Strategy } from '../config/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { Decision } from '../router/index.js';

export interface AgentMatch {
  profile: string;
  mode: 'single' | 'multi';
  /** What the request's model becomes: a model id, `auto:<strategy>` or `pipeline:<id>`. */
  target: string;
  reason: string;
}

/** Calls a pipeline makes per phase, against one call's predicted cost (prompts grow with context). */
const PIPELINE_COST_FACTOR = 1.5;

/** The strategy a profile's requirements ask for when one model answers. */
export function requiredStrategy(r: ProfileSettings['requirements']): Exclude<Strategy, 'custom'> {
  if (r.speed >= 0.7 && r.speed >= r.accuracy) return 'latency';
  if (r.accuracy >= 0.7) return 'quality';
  return 'balanced';
}

/** The profile a prompt falls under (named, by keyword, by task), or undefined. */
export function findProfile(
  profiles: readonly ProfileSettings[],
  prompt: string,
  task: string,
  named?: string,
): ProfileSettings | undefined {
  if (named !== undefined) {
    const p = profiles.find((q) => q.id === named);
    if (!p)
      throw new ArbiterError(
        ErrorCodes.NOT_FOUND,
        `no agent profile ${JSON.stringify(named)} (have: ${profiles.map((q) => q.id).join(', ')})`,
        { param: 'model' },
      );
    return p;
  }
  const lower = ` ${prompt.toLowerCase().replace(/[^a-z0-9]+/g, ' ')} `;
  const byKeyword = profiles.find((p) => p.keywords?.some((k) => lower.includes(` ${k.toLowerCase()} `)));
  return byKeyword ?? profiles.find((p) => p.tasks?.includes(task));
}

export function matchAgent(
  config: Pick<ArbiterConfig, 'profiles' | 'pipelines'>,
  decision: Decision,
  prompt: string,
  named: string | undefined,
  available: (model: string) => boolean,
): AgentMatch {
  const task = decision.task.label;
  const profile = findProfile(config.profiles, prompt, task, named);
  if (!profile)
    return { profile: 'none', mode: 'single', target: 'auto', reason: `agent: no profile takes task ${task}; routed` };
  const hard = decision.analysis.difficulty?.value ?? decision.analysis.complexity;
  const measure = decision.analysis.difficulty ? 'difficulty' : 'complexity';
  const pl = profile.pipeline ? config.pipelines.find((q) => q.id === profile.pipeline) : undefined;
  const estimate = pl ? pl.phases.length * PIPELINE_COST_FACTOR * decision.predicted.cost : 0;
  const why = `agent ${profile.id} (task ${task}, ${measure} ${hard.toFixed(2)})`;
  if (pl && hard >= profile.minComplexity && (profile.budgetUsd === undefined || estimate <= profile.budgetUsd))
    return {
      profile: profile.id,
      mode: 'multi',
      target: `pipeline:${pl.id}`,
      reason: `${why}: multi-model, pipeline ${pl.id} — ${measure} ≥ ${profile.minComplexity}${profile.budgetUsd !== undefined ? `, est. $${estimate.toPrecision(2)} ≤ $${profile.budgetUsd}` : ''}`,
    };
  const because = !pl
    ? 'the profile has no pipeline'
    : hard < profile.minComplexity
      ? `${measure} < ${profile.minComplexity}`
      : `est. $${estimate.toPrecision(2)} > budget $${profile.budgetUsd}`;
  const preferred = profile.models?.find(available);
  const target = preferred ?? `auto:${requiredStrategy(profile.requirements)}`;
  return {
    profile: profile.id,
    mode: 'single',
    target,
    reason: `${why}: single model ${preferred ? `${preferred} (preferred)` : `by ${target}`} — ${because}`,
  };
}
