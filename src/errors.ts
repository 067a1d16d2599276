/**
 * The one catalogue of error codes used by the library, the CLI and (later) HTTP. Codes are
 * stable: clients may switch on them. Messages name the argument and what was expected.
 */
export const ErrorCodes = {
  INVALID_ARGUMENT: 'ARB_INVALID_ARGUMENT',
  DIMENSION_MISMATCH: 'ARB_DIMENSION_MISMATCH',
  NOT_FINITE: 'ARB_NOT_FINITE',
  OUT_OF_RANGE: 'ARB_OUT_OF_RANGE',
  DUPLICATE_ID: 'ARB_DUPLICATE_ID',
  FREED: 'ARB_FREED',
  UNSUPPORTED: 'ARB_UNSUPPORTED',
  BACKEND_UNAVAILABLE: 'ARB_BACKEND_UNAVAILABLE',
  CUDA_UNAVAILABLE: 'ARB_CUDA_UNAVAILABLE',
  CUDA_ERROR: 'ARB_CUDA_ERROR',
  OUT_OF_MEMORY: 'ARB_OUT_OF_MEMORY',
  NATIVE_ERROR: 'ARB_NATIVE_ERROR',
  INVALID_CONFIG: 'ARB_INVALID_CONFIG',
  NOT_FOUND: 'ARB_NOT_FOUND',
  NO_ELIGIBLE_MODEL: 'ARB_NO_ELIGIBLE_MODEL',
  /** An upstream model failed (5xx, bad response, connection error) and no fallback succeeded. */
  UPSTREAM_ERROR: 'ARB_UPSTREAM_ERROR',
  UPSTREAM_TIMEOUT: 'ARB_UPSTREAM_TIMEOUT',
  /** Upstream 429, or a model's queue is full: retry after the given delay. */
  RATE_LIMITED: 'ARB_RATE_LIMITED',
  /** The model's circuit breaker is open (cooling down after failures). */
  CIRCUIT_OPEN: 'ARB_CIRCUIT_OPEN',
  /** A stream failed after its first token. */
  STREAM_INTERRUPTED: 'ARB_STREAM_INTERRUPTED',
  UNAUTHORIZED: 'ARB_UNAUTHORIZED',
  FORBIDDEN: 'ARB_FORBIDDEN',
  INVALID_REQUEST: 'ARB_INVALID_REQUEST',
  PAYLOAD_TOO_LARGE: 'ARB_PAYLOAD_TOO_LARGE',
  /** The request's budget does not cover the calls it needs. */
  BUDGET_EXCEEDED: 'ARB_BUDGET_EXCEEDED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
const known = new Set<string>(Object.values(ErrorCodes));

export class ArbiterError extends Error {
  readonly code: ErrorCode;
  /** The argument or option the error is about, when there is one. */
  readonly param: string | undefined;
  /** Every problem found, when there were several (e.g. each invalid key of a config). */
  readonly details: readonly string[] | undefined;
  /** For ARB_RATE_LIMITED / ARB_CIRCUIT_OPEN: when to try again. */
  readonly retryAfterMs: number | undefined;
  /** For upstream errors: the upstream's HTTP status, when there was one. */
  readonly status: number | undefined;

  constructor(code: ErrorCode, message: string, options: { param?: string; cause?: unknown; details?: readonly string[]; retryAfterMs?: number; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ArbiterError';
    this.code = code;
    this.param = options.param;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

export function isArbiterError(e: unknown): e is ArbiterError {
  return e instanceof ArbiterError;
}

/** Converts an error thrown by the native addon (an Error with a string `code`) to an ArbiterError. */
export function fromNative(e: unknown): ArbiterError {
  if (e instanceof ArbiterError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' && known.has(err.code) ? (err.code as ErrorCode) : ErrorCodes.NATIVE_ERROR;
  const message = String(err?.message ?? e);
  // native messages about one argument start with its name, e.g. "queries[12] is not finite"
  const param = /^([A-Za-z_][\w.]*)\[\d+\]/.exec(message)?.[1];
  return new ArbiterError(code, message, param === undefined ? { cause: e } : { param, cause: e });
}
