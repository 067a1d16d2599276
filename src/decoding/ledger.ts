/**
 * The ledger of one decoding request: every call accounted (calls, tokens, dollars), the budget
 * never knowingly passed (a call starts only when spent + in-flight estimates + its own fit), the
 * deadline and the caller's signal as one abort signal.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ChatRequest } from '../providers/index.js';
import type { DecodeLimits, DecodeResult, Generate, Generation, StopReason } from './types.js';

/** Accounting, budget and deadline of one decoding request. */
export class Ledger {
  cost = 0;
  tokens = 0;
  promptTokens = 0;
  completionTokens = 0;
  calls = 0;
  private reserved = 0;
  deadlineHit = false;
  budgetHit = false;
  readonly failures: Array<{ model: string; code: string }> = [];
  readonly ctl = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onAbort: () => void;

  constructor(private readonly limits: DecodeLimits) {
    if (limits.budget !== undefined && !(limits.budget >= 0))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'budget must be a non-negative number of dollars', {
        param: 'budget',
      });
    if (limits.deadlineMs !== undefined && !(limits.deadlineMs > 0))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'deadlineMs must be positive', { param: 'deadlineMs' });
    if (limits.deadlineMs !== undefined)
      this.timer = setTimeout(() => {
        this.deadlineHit = true;
        this.ctl.abort(
          new ArbiterError(ErrorCodes.UPSTREAM_TIMEOUT, `deadline of ${limits.deadlineMs} ms reached`, {
            param: 'deadline_ms',
          }),
        );
      }, limits.deadlineMs);
    this.onAbort = () => this.ctl.abort(limits.signal?.reason);
    if (limits.signal?.aborted) this.ctl.abort(limits.signal.reason);
    else limits.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get stopped(): boolean {
    return this.ctl.signal.aborted;
  }

  /** Whether a call of this estimated cost may start now. */
  affordable(model: string, req: ChatRequest): number | null {
    const est = this.limits.estimateCost?.(model, req) ?? 0;
    if (this.limits.budget !== undefined && this.cost + this.reserved + est > this.limits.budget + 1e-12) {
      this.budgetHit = true;
      return null;
    }
    return est;
  }

  /** One call under the ledger: null when it was cancelled (deadline, settled); throws other failures. */
  async call(
    gen: Generate,
    model: string,
    req: ChatRequest,
    est: number,
    signal: AbortSignal,
  ): Promise<Generation | null> {
    this.reserved += est;
    this.calls++;
    try {
      const g = await gen(model, req, signal);
      this.cost += g.cost;
      this.tokens += g.tokens;
      this.promptTokens += g.promptTokens ?? 0;
      this.completionTokens += g.completionTokens ?? 0;
      return g;
    } catch (e) {
      if (signal.aborted && !this.limits.signal?.aborted) return null;
      this.failures.push({ model, code: e instanceof ArbiterError ? e.code : 'unknown' });
      throw e;
    } finally {
      this.reserved -= est;
    }
  }

  charge(cost: number, tokens: number): void {
    this.cost += cost;
    this.tokens += tokens;
  }

  get usage(): DecodeResult['usage'] {
    return {
      prompt_tokens: this.promptTokens,
      completion_tokens: this.completionTokens,
      total_tokens: this.promptTokens + this.completionTokens,
    };
  }

  get scoreCtxCost(): (cost: number, tokens: number) => void {
    return (c, t) => this.charge(c, t);
  }

  stopReason(fallback: StopReason): StopReason {
    return this.deadlineHit ? 'deadline' : this.budgetHit ? 'budget' : fallback;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.limits.signal?.removeEventListener('abort', this.onAbort);
  }
}
