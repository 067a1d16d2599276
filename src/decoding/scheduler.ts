/** The job scheduler: calls run concurrently up to a limit, each under the ledger; settled runs stop early. */
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ChatRequest } from '../providers/index.js';
import type { Ledger } from './ledger.js';
import type { Generate, Generation } from './types.js';

export interface Job {
  model: string;
  req: ChatRequest;
}

/**
 * Runs jobs with at most `concurrency` in flight; after each finishes, `settled(done, left)` may
 * stop the rest (in-flight ones are cancelled). Failed calls are dropped; all failing rethrows.
 */
export async function runJobs(
  gen: Generate,
  ledger: Ledger,
  jobs: readonly Job[],
  concurrency: number,
  settled?: (done: Generation[], left: number) => boolean,
): Promise<{ done: Generation[]; jobOf: number[]; settled: boolean }> {
  const done: Generation[] = [];
  const order: number[] = [];
  let next = 0;
  let finished = 0;
  let stop = false;
  let lastError: unknown;
  const inflight = new Set<AbortController>();
  await new Promise<void>((resolve) => {
    const launch = () => {
      while (!stop && !ledger.stopped && inflight.size < concurrency && next < jobs.length) {
        const j = jobs[next]!;
        const est = ledger.affordable(j.model, j.req);
        if (est === null) {
          next = jobs.length; // the budget is spent: nothing more starts
          break;
        }
        const idx = next++;
        const ctl = new AbortController();
        const onAbort = () => ctl.abort(ledger.ctl.signal.reason);
        ledger.ctl.signal.addEventListener('abort', onAbort, { once: true });
        inflight.add(ctl);
        ledger
          .call(gen, j.model, j.req, est, ctl.signal)
          .then(
            (g) => {
              if (g && !stop) {
                done.push(g);
                order.push(idx);
              }
            },
            (e: unknown) => {
              lastError = e;
            },
          )
          .finally(() => {
            ledger.ctl.signal.removeEventListener('abort', onAbort);
            inflight.delete(ctl);
            finished++;
            if (!stop && settled?.(done, jobs.length - finished)) {
              stop = true;
              for (const c of inflight) c.abort(new Error('settled'));
            }
            launch();
            if (inflight.size === 0 && (stop || ledger.stopped || next >= jobs.length)) resolve();
          });
      }
      if (inflight.size === 0) resolve();
    };
    launch();
  });
  if (!done.length && lastError !== undefined && !ledger.deadlineHit) throw lastError;
  // in job order, so results do not depend on which call was faster
  const sorted = order.map((o, i) => [o, done[i]!] as const).sort((a, b) => a[0] - b[0]);
  return { done: sorted.map(([, g]) => g), jobOf: sorted.map(([o]) => o), settled: stop };
}

export function nothingFinished(ledger: Ledger): never {
  if (ledger.deadlineHit)
    throw new ArbiterError(ErrorCodes.UPSTREAM_TIMEOUT, 'the deadline passed before any candidate finished', {
      param: 'deadline_ms',
    });
  if (ledger.budgetHit)
    throw new ArbiterError(ErrorCodes.BUDGET_EXCEEDED, 'the budget does not cover a single call', { param: 'budget' });
  throw new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'no candidate was produced', { param: 'model' });
}
