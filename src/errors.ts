/**
 * The one catalogue of error codes used by the library, the CLI, HTTP and the native core: each
 * code with its HTTP status and what it means. Codes are stable: clients may switch on them.
 * Messages name the argument and what was expected. native/include/arbiter/error_codes.hpp is
 * generated from this table (`npm run gen:errors`; a test fails when it is out of date), so C++
 * cannot misspell a code.
 */
const CATALOGUE = {
  INVALID_ARGUMENT: { status: 400, means: 'an argument of a library call is invalid' },
  INVALID_REQUEST: { status: 400, means: 'a request body or parameter is invalid' },
  DIMENSION_MISMATCH: { status: 400, means: 'array sizes do not agree with the dimensions given' },
  NOT_FINITE: { status: 400, means: 'an input holds NaN or an infinity' },
  OUT_OF_RANGE: { status: 400, means: 'an id or index is outside its valid range' },
  DUPLICATE_ID: { status: 400, means: 'an id that must be unique is already present' },
  UNAUTHORIZED: { status: 401, means: 'the API key is missing or unknown' },
  FORBIDDEN: { status: 403, means: 'the API key may not use this endpoint' },
  NOT_FOUND: { status: 404, means: 'no such model, route, file or record' },
  PAYLOAD_TOO_LARGE: { status: 413, means: 'the request body is larger than the limit' },
  INVALID_CONFIG: { status: 422, means: 'the config file (or an artefact it names) is invalid' },
  NO_ELIGIBLE_MODEL: { status: 422, means: 'no configured model satisfies the constraints' },
  BUDGET_EXCEEDED: { status: 422, means: "the request's budget does not cover the calls it needs" },
  RATE_LIMITED: {
    status: 429,
    means: "upstream 429, a per-minute limit, or a model's queue is full: retry after the given delay",
  },
  UNSUPPORTED: { status: 501, means: 'the operation or format is not supported here' },
  UPSTREAM_ERROR: {
    status: 502,
    means: 'an upstream model failed (5xx, bad response, connection error) and no fallback succeeded',
  },
  STREAM_INTERRUPTED: { status: 502, means: 'a stream failed after its first token' },
  PIPELINE_FAILED: { status: 502, means: 'a critical pipeline phase failed after its fallbacks' },
  CIRCUIT_OPEN: { status: 503, means: "the model's circuit breaker is open (cooling down after failures)" },
  CLOSED: { status: 503, means: 'the object was closed (or is being replaced by a reload) and takes no more calls' },
  UPSTREAM_TIMEOUT: { status: 504, means: 'no upstream answer within the timeout or deadline' },
  FREED: { status: 500, means: 'native memory was used after it was freed' },
  BACKEND_UNAVAILABLE: { status: 500, means: 'the compute backend asked for cannot be loaded' },
  CUDA_UNAVAILABLE: { status: 500, means: 'no usable CUDA device or runtime' },
  CUDA_ERROR: { status: 500, means: 'a CUDA call failed' },
  OUT_OF_MEMORY: { status: 500, means: 'an allocation failed' },
  NATIVE_ERROR: { status: 500, means: 'the native core failed in an unexpected way' },
  INTERNAL: { status: 500, means: 'a bug in arbiter: logged with its stack; clients see no internals' },
} as const satisfies Record<string, { status: number; means: string }>;

type Name = keyof typeof CATALOGUE;

/** Code names to their stable string values: ErrorCodes.NOT_FOUND === 'ARB_NOT_FOUND'. */
export const ErrorCodes = Object.freeze(
  Object.fromEntries(Object.keys(CATALOGUE).map((k) => [k, `ARB_${k}`])) as { readonly [K in Name]: `ARB_${K}` },
);

export type ErrorCode = (typeof ErrorCodes)[Name];

/** Every code with its HTTP status and meaning (for docs, the C++ header and the gateway). */
export const ERROR_CATALOGUE: ReadonlyArray<{ code: ErrorCode; name: Name; status: number; means: string }> =
  Object.entries(CATALOGUE).map(([name, v]) => ({
    code: `ARB_${name}` as ErrorCode,
    name: name as Name,
    status: v.status,
    means: v.means,
  }));

const byCode = new Map<string, { status: number }>(ERROR_CATALOGUE.map((e) => [e.code, e]));

/** The HTTP status an error code is answered with. */
export function httpStatus(code: ErrorCode): number {
  return byCode.get(code)?.status ?? 500;
}

export interface ArbiterErrorOptions {
  param?: string;
  cause?: unknown;
  details?: readonly string[];
  retryAfterMs?: number;
  status?: number;
}

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

  constructor(code: ErrorCode, message: string, options: ArbiterErrorOptions = {}) {
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

/** An invalid argument: `invalid('options.k', 'must be a positive integer')` → "options.k must be a positive integer". */
export function invalid(param: string, message: string): ArbiterError {
  return new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${param} ${message}`, { param });
}

/** Throws invalid(param, message): for use in expressions (`x ?? fail(…)`). */
export function fail(param: string, message: string): never {
  throw invalid(param, message);
}

/**
 * Any thrown value as an ArbiterError: itself when it is one, ARB_INTERNAL otherwise (a bug: the
 * original is kept as the cause, for the log; the message says nothing about internals).
 */
export function toArbiterError(e: unknown): ArbiterError {
  return isArbiterError(e) ? e : new ArbiterError(ErrorCodes.INTERNAL, 'internal error', { cause: e });
}

/** Converts an error thrown by the native addon (an Error with a string `code`) to an ArbiterError. */
export function fromNative(e: unknown): ArbiterError {
  if (e instanceof ArbiterError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code =
    typeof err?.code === 'string' && byCode.has(err.code) ? (err.code as ErrorCode) : ErrorCodes.NATIVE_ERROR;
  const message = String(err?.message ?? e);
  // native messages about one argument start with its name, e.g. "queries[12] is not finite"
  const param = /^([A-Za-z_][\w.]*)\[\d+\]/.exec(message)?.[1];
  return new ArbiterError(code, message, param === undefined ? { cause: e } : { param, cause: e });
}
