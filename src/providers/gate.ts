/**
 * Per-model resilience around a provider:
 *   - a concurrency cap with a bounded FIFO queue: a full queue fails fast with ARB_RATE_LIMITED
 *     and a Retry-After estimate;
 *   - a circuit breaker: `failureThreshold` failures within `windowMs` open it for `cooldownMs`
 *     (calls fail fast with ARB_CIRCUIT_OPEN); then one probe call is let through (half-open):
 *     success closes it, failure opens it again;
 *   - retries of retryable failures (429, 5xx, connection errors, timeouts) with exponential
 *     backoff and full jitter, honouring Retry-After up to `maxRetryAfterMs` (a longer wait is
 *     not waited: the failure goes back to the caller, which falls back to another model).
 * Client errors (4xx other than 429) and replay misses are not retried and do not count against
 * the breaker.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';

export type BreakerState = 'closed' | 'open' | 'half-open';
/** Breaker transitions a gate remembers (the dashboard's breaker history). */
export const BREAKER_HISTORY = 50;

export interface GateOptions {
  maxConcurrent: number;
  /** Waiting calls beyond the cap (default 4 × maxConcurrent). */
  maxQueue?: number;
  retries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  maxRetryAfterMs?: number;
  failureThreshold?: number;
  windowMs?: number;
  cooldownMs?: number;
  /** Optional limits over a sliding minute: calls started, and tokens (estimated at the start, corrected by usage). */
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** For tests: the clock and the sleep. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export function isRetryable(e: unknown): boolean {
  if (!(e instanceof ArbiterError)) return false;
  if (e.code === ErrorCodes.RATE_LIMITED || e.code === ErrorCodes.UPSTREAM_TIMEOUT) return true;
  if (e.code !== ErrorCodes.UPSTREAM_ERROR) return false;
  return e.status === undefined || e.status >= 500 || e.status === 408;
}

/** Whether a failure says something about the model's health (client mistakes do not). */
export function countsAgainstModel(e: unknown): boolean {
  return isRetryable(e) || (e instanceof ArbiterError && e.code === ErrorCodes.STREAM_INTERRUPTED);
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted)
      return reject(
        new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'request cancelled by the client', { param: 'model', status: 499 }),
      );
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(
        new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'request cancelled by the client', { param: 'model', status: 499 }),
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class ModelGate {
  private active = 0;
  private readonly queue: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private failures: number[] = [];
  private state: BreakerState = 'closed';
  /** The breaker's latest transitions, oldest first (at most BREAKER_HISTORY). */
  private readonly transitions: Array<{ at: number; state: BreakerState }> = [];
  private openedAt = 0;
  private probing = false;
  private o: Required<Omit<GateOptions, 'now' | 'sleep' | 'random' | 'requestsPerMinute' | 'tokensPerMinute'>> &
    Pick<GateOptions, 'requestsPerMinute' | 'tokensPerMinute'>;
  /** Calls started within the last minute: when, and their tokens (estimate, then usage). */
  private minute: Array<{ at: number; tokens: number }> = [];
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  /** Called on every breaker transition (metrics). */
  onStateChange?: (state: BreakerState) => void;

  constructor(
    readonly model: string,
    options: GateOptions,
  ) {
    this.o = ModelGate.settings(options);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /**
   * New limits for the same model (a config reload): what the gate knows — calls in flight and
   * queued, the breaker and its cool-down, the per-minute windows — carries over.
   */
  reconfigure(options: GateOptions): void {
    this.o = ModelGate.settings(options);
  }

  private static settings(options: GateOptions): ModelGate['o'] {
    return {
      maxConcurrent: options.maxConcurrent,
      maxQueue: options.maxQueue ?? 4 * options.maxConcurrent,
      retries: options.retries ?? 2,
      backoffBaseMs: options.backoffBaseMs ?? 100,
      backoffMaxMs: options.backoffMaxMs ?? 2000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 2000,
      failureThreshold: options.failureThreshold ?? 5,
      windowMs: options.windowMs ?? 30_000,
      cooldownMs: options.cooldownMs ?? 15_000,
      ...(options.requestsPerMinute !== undefined ? { requestsPerMinute: options.requestsPerMinute } : {}),
      ...(options.tokensPerMinute !== undefined ? { tokensPerMinute: options.tokensPerMinute } : {}),
    };
  }

  get maxConcurrent(): number {
    return this.o.maxConcurrent;
  }
  get inFlight(): number {
    return this.active;
  }
  get queued(): number {
    return this.queue.length;
  }
  get saturated(): boolean {
    return this.active >= this.o.maxConcurrent;
  }

  /** The breaker's state now (an open breaker past its cool-down reads half-open). */
  breaker(): BreakerState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.o.cooldownMs) this.transition('half-open');
    return this.state;
  }

  /** Milliseconds until an open breaker lets a probe through (0 when not open). */
  cooldownLeftMs(): number {
    return this.state === 'open' ? Math.max(0, this.o.cooldownMs - (this.now() - this.openedAt)) : 0;
  }

  /** The breaker's latest transitions (epoch ms and the state entered), oldest first. */
  history(): ReadonlyArray<{ at: number; state: BreakerState }> {
    this.breaker();
    return this.transitions;
  }

  /** Whether a call would be let through now (closed, or half-open with no probe running). */
  available(): boolean {
    const s = this.breaker();
    return s === 'closed' || (s === 'half-open' && !this.probing);
  }

  private transition(s: BreakerState): void {
    if (this.state === s) return;
    // an open breaker turns half-open when its cool-down ends, though it is noticed on the next read
    const at = s === 'half-open' && this.state === 'open' ? this.openedAt + this.o.cooldownMs : this.now();
    this.state = s;
    this.transitions.push({ at, state: s });
    if (this.transitions.length > BREAKER_HISTORY) this.transitions.shift();
    if (s === 'open') this.openedAt = this.now();
    if (s === 'closed') this.failures = [];
    this.onStateChange?.(s);
  }

  /** Records the outcome of a call for the breaker. */
  private record(ok: boolean, probe: boolean): void {
    if (probe) this.probing = false;
    if (ok) {
      if (probe || this.state === 'half-open') this.transition('closed');
      return;
    }
    if (probe) {
      this.transition('open');
      return;
    }
    const t = this.now();
    this.failures = this.failures.filter((x) => t - x < this.o.windowMs);
    this.failures.push(t);
    if (this.failures.length >= this.o.failureThreshold) this.transition('open');
  }

  private async slot(signal?: AbortSignal): Promise<void> {
    if (this.active < this.o.maxConcurrent) {
      this.active++;
      return;
    }
    if (this.queue.length >= this.o.maxQueue)
      throw new ArbiterError(
        ErrorCodes.RATE_LIMITED,
        `${this.model}: ${this.active} calls in flight and ${this.queue.length} queued (the limit)`,
        { param: 'model', retryAfterMs: 1000 },
      );
    await new Promise<void>((resolve, reject) => {
      const entry = { resolve, reject };
      this.queue.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) {
            this.queue.splice(i, 1);
            reject(
              new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'request cancelled while queued', {
                param: 'model',
                status: 499,
              }),
            );
          }
        },
        { once: true },
      );
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (next)
      next.resolve(); // the slot passes on
    else this.active--;
  }

  /** Whether the per-minute limits leave room now (for /health). */
  get rateLimited(): boolean {
    return this.limitWaitMs(0) > 0;
  }

  /** Milliseconds until a call of `tokens` fits the per-minute limits (0: now). */
  private limitWaitMs(tokens: number): number {
    const { requestsPerMinute: rpm, tokensPerMinute: tpm } = this.o;
    if (rpm === undefined && tpm === undefined) return 0;
    const t = this.now();
    this.minute = this.minute.filter((e) => t - e.at < 60_000);
    let wait = 0;
    if (rpm !== undefined && this.minute.length + 1 > rpm)
      wait = Math.max(wait, this.minute[this.minute.length - rpm]!.at + 60_000 - t);
    if (tpm !== undefined) {
      let used = this.minute.reduce((s, e) => s + e.tokens, 0);
      if (tokens > tpm) return Infinity; // never fits
      for (const e of this.minute) {
        if (used + tokens <= tpm) break;
        used -= e.tokens;
        wait = Math.max(wait, e.at + 60_000 - t);
      }
    }
    return wait;
  }

  /**
   * Runs `call` under the cap, the breaker and the retry policy. `call` gets the attempt number.
   * For streams, `call` resolves once the first token is in (later failures are reported with
   * `reportLate`).
   */
  async run<T>(
    call: (attempt: number) => Promise<T>,
    signal?: AbortSignal,
    tokens?: { estimate: number; usage?: (out: T) => number | undefined },
  ): Promise<T> {
    return (await this.exec(call, signal, tokens, false)).value;
  }

  /**
   * As run(), but on success the concurrency slot stays taken until `release()` is called — for a
   * stream, whose call resolves at its first token but which occupies the model until its end.
   */
  async open<T>(
    call: (attempt: number) => Promise<T>,
    signal?: AbortSignal,
    tokens?: { estimate: number },
  ): Promise<{ value: T; release: () => void }> {
    return this.exec(call, signal, tokens, true);
  }

  private async exec<T>(
    call: (attempt: number) => Promise<T>,
    signal: AbortSignal | undefined,
    tokens: { estimate: number; usage?: (out: T) => number | undefined } | undefined,
    hold: boolean,
  ): Promise<{ value: T; release: () => void }> {
    if (!this.available())
      throw new ArbiterError(ErrorCodes.CIRCUIT_OPEN, `${this.model}: circuit open after repeated failures`, {
        param: 'model',
        retryAfterMs: this.cooldownLeftMs() || 1000,
      });
    const wait = this.limitWaitMs(tokens?.estimate ?? 0);
    if (wait > 0)
      throw new ArbiterError(
        ErrorCodes.RATE_LIMITED,
        `${this.model}: ${wait === Infinity ? `a call of ${tokens?.estimate} tokens exceeds the ${this.o.tokensPerMinute} tokens-per-minute limit` : 'requests- or tokens-per-minute limit reached'}`,
        { param: 'model', ...(wait === Infinity ? {} : { retryAfterMs: wait }) },
      );
    const entry = { at: this.now(), tokens: tokens?.estimate ?? 0 };
    if (this.o.requestsPerMinute !== undefined || this.o.tokensPerMinute !== undefined) this.minute.push(entry);
    await this.slot(signal);
    let held = false;
    try {
      for (let attempt = 0; ; attempt++) {
        if (!this.available())
          throw new ArbiterError(ErrorCodes.CIRCUIT_OPEN, `${this.model}: circuit open after repeated failures`, {
            param: 'model',
            retryAfterMs: this.cooldownLeftMs() || 1000,
          });
        const probe = this.state === 'half-open';
        if (probe) this.probing = true;
        try {
          const out = await call(attempt);
          this.record(true, probe);
          const used = tokens?.usage?.(out);
          if (used !== undefined) entry.tokens = used; // the estimate corrected by the response's usage
          if (!hold) return { value: out, release: () => {} };
          held = true;
          let released = false;
          return {
            value: out,
            release: () => {
              if (released) return;
              released = true;
              this.release();
            },
          };
        } catch (e) {
          if (countsAgainstModel(e)) this.record(false, probe);
          else if (probe) this.probing = false;
          if (!isRetryable(e) || attempt >= this.o.retries || signal?.aborted) throw e;
          const after = (e as ArbiterError).retryAfterMs;
          if (after !== undefined && after > this.o.maxRetryAfterMs) throw e; // not worth waiting here: fall back
          const backoff = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** attempt) * this.random();
          await this.sleep(Math.max(after ?? 0, backoff), signal);
        }
      }
    } finally {
      if (!held) this.release();
    }
  }

  /** A stream that failed after its first token: counts against the model. */
  reportLate(): void {
    this.record(false, false);
  }
}
