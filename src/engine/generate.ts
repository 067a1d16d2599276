/**
 * One upstream call through its model's gate (cap, queue, breaker, retries, per-minute limits),
 * costed from the response's usage × the model's price and recorded on the request's outcome.
 */
import type { ModelRegistry, ModelSpec } from '../config/index.js';
import type { Generate } from '../decoding/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import {
  DEFAULT_OUTPUT_TOKENS,
  promptTokens,
  tokenAccounting,
  type ChatRequest,
  type Upstream,
} from '../providers/index.js';
import type { LoadTracker } from '../router/index.js';
import { estimateTokens } from '../text.js';
import { errorCode, type OutcomeRecorder } from './outcome.js';

/** Dollars for tokens at a model's prices. */
export function callCost(spec: Pick<ModelSpec, 'cost'>, promptTok: number, completionTok: number): number {
  return (promptTok * spec.cost.inputPer1k + completionTok * spec.cost.outputPer1k) / 1000;
}

/** A Generate over the upstreams: each call through the model's gate, costed from usage, recorded when a recorder is given. */
export function gatedGenerate(
  upstreams: ReadonlyMap<string, Upstream>,
  registry: ModelRegistry,
  load?: LoadTracker,
  recorder?: OutcomeRecorder,
): Generate {
  return async (model, req, signal) => {
    const up = upstreams.get(model);
    if (!up) throw new ArbiterError(ErrorCodes.NOT_FOUND, `no provider for model ${model}`, { param: 'model' });
    const spec = registry.get(model);
    const release = load?.acquire(model);
    const t0 = performance.now();
    try {
      const res = await up.gate.run(
        () => up.provider.complete(req, { signal, timeoutMs: up.timeoutMs }),
        signal,
        tokenAccounting(req),
      );
      const content = res.choices[0]?.message.content ?? '';
      const u = res.usage ?? {
        prompt_tokens: promptTokens(req),
        completion_tokens: estimateTokens(content),
        total_tokens: 0,
      };
      const cost = callCost(spec, u.prompt_tokens, u.completion_tokens);
      recorder?.call({
        model,
        status: 'ok',
        latencyMs: performance.now() - t0,
        promptTokens: u.prompt_tokens,
        completionTokens: u.completion_tokens,
        cost,
        ...(res.usage ? {} : { estimated: true }),
      });
      const stopReason = (res.choices[0] as { stop_reason?: string | number | null } | undefined)?.stop_reason;
      return {
        model,
        content,
        finishReason: res.choices[0]?.finish_reason ?? null,
        ...(stopReason !== undefined ? { stopReason } : {}),
        cost,
        tokens: u.prompt_tokens + u.completion_tokens,
        promptTokens: u.prompt_tokens,
        completionTokens: u.completion_tokens,
        response: res,
      };
    } catch (e) {
      recorder?.call({
        model,
        status: 'error',
        code: errorCode(e),
        latencyMs: performance.now() - t0,
        promptTokens: 0,
        completionTokens: 0,
        cost: 0,
      });
      throw e;
    } finally {
      release?.();
    }
  };
}

/** A call's cost before it is made: the prompt's estimated tokens and max_tokens (or 256) at the model's prices. */
export function estimateCallCost(registry: ModelRegistry) {
  return (model: string, req: ChatRequest): number =>
    callCost(registry.get(model), promptTokens(req), req.max_tokens ?? DEFAULT_OUTPUT_TOKENS);
}
