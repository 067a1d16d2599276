/**
 * What a request becomes before it runs: an experiment's arm (for `auto`), and for `agent` or
 * `agent:<profile>` the matcher's choice — one model or the profile's pipeline — with why.
 */
import type { ArbiterConfig } from '../config/index.js';
import type { Assignment, Experiments } from '../experiments/index.js';
import { promptOf, type Upstream } from '../providers/index.js';
import type { Router } from '../router/index.js';
import type { CompleteRequest } from './complete.js';
import { applyExperiment } from './experiment.js';
import { matchAgent } from './matcher.js';
import type { OutcomeRecorder } from './outcome.js';
import { findPipeline } from './pipeline-complete.js';

export interface Prepared {
  req: CompleteRequest;
  assignment?: Assignment;
  /** The matcher's reason, for `agent` requests. */
  agent?: string;
}

export async function prepareRequest(
  engine: {
    experiments: Experiments | undefined;
    router: Router;
    config: ArbiterConfig;
    upstreams: ReadonlyMap<string, Upstream>;
  },
  asked: CompleteRequest,
  rec: OutcomeRecorder,
  options: { keyId?: string; headers?: Readonly<Record<string, string | undefined>> },
): Promise<Prepared> {
  const { req, assignment } = await applyExperiment(
    engine.experiments,
    asked,
    options.keyId,
    rec,
    options.headers,
    async (r) =>
      // routed once more where the arm is auto: a task-scoped experiment's price (about 0.1 ms)
      (await engine.router.route(promptOf(r))).task.label,
  );
  if (req.model !== 'agent' && !req.model.startsWith('agent:')) {
    if (req.model.startsWith('pipeline:')) findPipeline(engine.config.pipelines, req.model); // ARB_NOT_FOUND now
    return { req, ...(assignment ? { assignment } : {}) };
  }
  const prompt = promptOf(req);
  const m = matchAgent(
    engine.config,
    await engine.router.route(prompt),
    prompt,
    req.model === 'agent' ? undefined : req.model.slice('agent:'.length),
    (id) => engine.upstreams.get(id)?.gate.available() ?? false,
  );
  return { req: { ...req, model: m.target }, agent: m.reason, ...(assignment ? { assignment } : {}) };
}
