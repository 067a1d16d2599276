/**
 * A request meets the experiments: an `auto` request an experiment takes has its model replaced by
 * its arm's (a model id, or `auto:<strategy>`); while the experiment runs the outcome is recorded
 * with the arm, and the answer says which (`x-arbiter-experiment`). Requests naming a model are
 * left alone. An experiment scoped by task takes the requests the router puts in its tasks.
 */
import { validateConfig, type ArbiterConfig, type ExperimentSettings } from '../config/index.js';
import type { Assignment, Experiments } from '../experiments/index.js';
import type { CompleteRequest } from './complete.js';
import type { OutcomeRecorder } from './outcome.js';

export async function applyExperiment<R extends CompleteRequest>(
  experiments: Experiments | undefined,
  req: R,
  keyId: string | undefined,
  rec: OutcomeRecorder,
  headers?: Readonly<Record<string, string | undefined>>,
  taskOf?: (req: R) => Promise<string>,
): Promise<{ req: R; assignment?: Assignment }> {
  if (!experiments?.size || !(req.model === 'auto' || req.model.startsWith('auto:'))) return { req };
  // an experiment scoped by task needs the router's task for the prompt first
  const task = experiments.needsTask && taskOf ? await taskOf(req) : undefined;
  const a = experiments.assign({
    ...(keyId ? { keyId } : {}),
    ...(typeof req.user === 'string' && req.user ? { user: req.user } : {}),
    ...(headers ? { headers } : {}),
    ...(task !== undefined ? { task } : {}),
  });
  if (!a) return { req };
  if (a.running) rec.experiment = { id: a.experiment, arm: a.arm };
  return { req: { ...req, model: a.target }, assignment: a };
}

/** What the answer says of the experiment: `<id>/<arm>`, and in the reason why this arm answered. */
export function experimentMeta(a: Assignment | undefined, reason: string): { experiment?: string; reason: string } {
  if (!a) return { reason };
  const why = a.running
    ? `arm ${a.arm} of experiment ${a.experiment}`
    : `experiment ${a.experiment} ${a.state}: ${a.arm}`;
  return { experiment: `${a.experiment}/${a.arm}`, reason: `${why}; ${reason}` };
}

/** The config's rules applied to a list of experiment definitions (INVALID_CONFIG naming each problem). */
export function experimentChecker(config: ArbiterConfig): (defs: readonly unknown[]) => ExperimentSettings[] {
  const { source, ...rest } = config;
  return (defs) => [...validateConfig({ ...rest, experiments: defs }, source).experiments];
}

/**
 * Creates an experiment through the admin API: checked with the config's rules against the others
 * (unknown models, overlapping scopes … are INVALID_CONFIG naming the field; nothing changes),
 * kept in the store, running from now.
 */
export async function createExperiment(
  experiments: Experiments,
  config: ArbiterConfig,
  def: unknown,
): Promise<ExperimentSettings> {
  const checked = experimentChecker(config)([...experiments.defs, def]);
  return experiments.create(checked, def);
}

/** How often running experiments are read (a decision promotes, a guardrail stops). */
const EXPERIMENT_CHECK_MS = 10_000;

/** Experiments move on their own: a decided one promotes its winner, a breached guardrail stops it. */
export function checkEvery(experiments: Experiments, ms = EXPERIMENT_CHECK_MS): NodeJS.Timeout {
  const t = setInterval(() => void experiments.check().catch(() => {}), ms);
  t.unref();
  return t;
}
