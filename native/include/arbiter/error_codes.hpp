// Generated from src/errors.ts by scripts/gen-error-header.mjs: do not edit.
// The stable error codes the native core reports (the binding turns them into ArbiterError codes).
#pragma once

namespace arbiter::codes {

// an argument of a library call is invalid
inline constexpr const char* INVALID_ARGUMENT = "ARB_INVALID_ARGUMENT";

// a request body or parameter is invalid
inline constexpr const char* INVALID_REQUEST = "ARB_INVALID_REQUEST";

// array sizes do not agree with the dimensions given
inline constexpr const char* DIMENSION_MISMATCH = "ARB_DIMENSION_MISMATCH";

// an input holds NaN or an infinity
inline constexpr const char* NOT_FINITE = "ARB_NOT_FINITE";

// an id or index is outside its valid range
inline constexpr const char* OUT_OF_RANGE = "ARB_OUT_OF_RANGE";

// an id that must be unique is already present
inline constexpr const char* DUPLICATE_ID = "ARB_DUPLICATE_ID";

// the API key is missing or unknown
inline constexpr const char* UNAUTHORIZED = "ARB_UNAUTHORIZED";

// the API key may not use this endpoint
inline constexpr const char* FORBIDDEN = "ARB_FORBIDDEN";

// no such model, route, file or record
inline constexpr const char* NOT_FOUND = "ARB_NOT_FOUND";

// the request body is larger than the limit
inline constexpr const char* PAYLOAD_TOO_LARGE = "ARB_PAYLOAD_TOO_LARGE";

// the config file (or an artefact it names) is invalid
inline constexpr const char* INVALID_CONFIG = "ARB_INVALID_CONFIG";

// no configured model satisfies the constraints
inline constexpr const char* NO_ELIGIBLE_MODEL = "ARB_NO_ELIGIBLE_MODEL";

// the request's budget does not cover the calls it needs
inline constexpr const char* BUDGET_EXCEEDED = "ARB_BUDGET_EXCEEDED";

// upstream 429, a per-minute limit, or a model's queue is full: retry after the given delay
inline constexpr const char* RATE_LIMITED = "ARB_RATE_LIMITED";

// the operation or format is not supported here
inline constexpr const char* UNSUPPORTED = "ARB_UNSUPPORTED";

// an upstream model failed (5xx, bad response, connection error) and no fallback succeeded
inline constexpr const char* UPSTREAM_ERROR = "ARB_UPSTREAM_ERROR";

// a stream failed after its first token
inline constexpr const char* STREAM_INTERRUPTED = "ARB_STREAM_INTERRUPTED";

// a critical pipeline phase failed after its fallbacks
inline constexpr const char* PIPELINE_FAILED = "ARB_PIPELINE_FAILED";

// the model's circuit breaker is open (cooling down after failures)
inline constexpr const char* CIRCUIT_OPEN = "ARB_CIRCUIT_OPEN";

// the object was closed (or is being replaced by a reload) and takes no more calls
inline constexpr const char* CLOSED = "ARB_CLOSED";

// no upstream answer within the timeout or deadline
inline constexpr const char* UPSTREAM_TIMEOUT = "ARB_UPSTREAM_TIMEOUT";

// native memory was used after it was freed
inline constexpr const char* FREED = "ARB_FREED";

// the compute backend asked for cannot be loaded
inline constexpr const char* BACKEND_UNAVAILABLE = "ARB_BACKEND_UNAVAILABLE";

// no usable CUDA device or runtime
inline constexpr const char* CUDA_UNAVAILABLE = "ARB_CUDA_UNAVAILABLE";

// a CUDA call failed
inline constexpr const char* CUDA_ERROR = "ARB_CUDA_ERROR";

// an allocation failed
inline constexpr const char* OUT_OF_MEMORY = "ARB_OUT_OF_MEMORY";

// the native core failed in an unexpected way
inline constexpr const char* NATIVE_ERROR = "ARB_NATIVE_ERROR";

// a bug in arbiter: logged with its stack; clients see no internals
inline constexpr const char* INTERNAL = "ARB_INTERNAL";

}  // namespace arbiter::codes
