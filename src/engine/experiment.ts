/**
 * A request meets the experiments: an `auto` request an experiment takes has its model replaced by
 * its arm's (a model id, or `auto:<strategy>`); while the experiment runs the outcome is recorded
 * with the arm, and the answer says which (`x-arbiter-experiment`). Requests naming a model are
 * left alone.
 */
import type { Assignment, Experiments } from '../experiments/index.js';
import type { CompleteRequest } from './complete.js';
import type { OutcomeRecorder } from './outcome.js';

export function applyExperiment<R extends CompleteRequest>(
  experiments: Experiments | undefined,
  req: R,
  keyId: string | undefined,
  rec: OutcomeRecorder,
): { req: R; assignment?: Assignment } {
  if (!experiments?.size || !(req.model === 'auto' || req.model.startsWith('auto:'))) return { req };
  const a = experiments.assign({
    ...(keyId ? { keyId } : {}),
    ...(typeof req.user === 'string' && req.user ? { user: req.user } : {}),
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
