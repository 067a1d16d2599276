/**
 * The providers of a config: each model's client and its resilience gate.
 */
import { dirname, isAbsolute, resolve } from 'node:path';

import type { ArbiterConfig } from '../config/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { ModelGate, type GateOptions } from './gate.js';
import { anthropicWire } from './anthropic.js';
import { azureWire, OpenAIProvider, openaiWire } from './openai.js';
import { loadReplayStore, ReplayProvider } from './replay.js';
import { RulesProvider } from './rules.js';
import { CHARS_PER_TOKEN } from '../text.js';
import { textOf } from './messages.js';
import type { ChatCompletion, ChatRequest, Provider } from './types.js';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_STREAM_IDLE_MS, DEFAULT_STREAM_TOTAL_MS } from './limits.js';

export interface Upstream {
  provider: Provider;
  gate: ModelGate;
  timeoutMs: number;
  firstTokenMs: number;
  streamIdleMs: number;
  streamTotalMs: number;
}

/** Default output tokens assumed for a request without max_tokens (budgets and per-minute limits). */
export const DEFAULT_OUTPUT_TOKENS = 256;

/** The prompt a request is about: its last user message (else its last message). */
export function promptOf(req: ChatRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--)
    if (req.messages[i]!.role === 'user') return textOf(req.messages[i]!.content);
  return textOf(req.messages.at(-1)?.content);
}

/** Tokens a non-text part is counted as before the upstream says (an image at low detail). */
const PART_TOKENS = 85;

/** A request's prompt tokens, estimated from its messages' lengths (no copy of the text: this runs per call). */
export function promptTokens(req: ChatRequest): number {
  let chars = 0;
  let parts = 0;
  for (const m of req.messages) {
    if (typeof m.content === 'string') chars += m.content.length + 1;
    else if (Array.isArray(m.content))
      for (const p of m.content)
        if (p && p.type === 'text' && typeof p.text === 'string') chars += p.text.length + 1;
        else parts++;
  }
  return Math.max(1, Math.ceil(chars / CHARS_PER_TOKEN) + parts * PART_TOKENS);
}

/** A request's tokens before it is made (per-minute limits, budgets): its prompt and max_tokens (or 256). */
export function requestTokens(req: ChatRequest): number {
  return promptTokens(req) + (req.max_tokens ?? req.max_completion_tokens ?? DEFAULT_OUTPUT_TOKENS);
}

/** Per-minute token accounting for a gate call: the estimate, corrected by the response's usage. */
export function tokenAccounting(req: ChatRequest): {
  estimate: number;
  usage: (res: ChatCompletion) => number | undefined;
} {
  return { estimate: requestTokens(req), usage: (res) => res.usage?.total_tokens };
}

/** Builds every model's provider; replay data paths are relative to the config file. */
export async function createUpstreams(
  cfg: ArbiterConfig,
  env: NodeJS.ProcessEnv = process.env,
  gate: Partial<GateOptions> = {},
  /** The upstreams being replaced (a reload): a model that remains keeps its gate's state. */
  previous?: ReadonlyMap<string, Upstream>,
): Promise<Map<string, Upstream>> {
  const out = new Map<string, Upstream>();
  // a key named but not set would call the upstream with no key: refuse to start, naming the variables
  const unset = cfg.models.filter((m) => m.provider.apiKeyEnv !== undefined && !env[m.provider.apiKeyEnv]);
  if (unset.length)
    throw new ArbiterError(
      ErrorCodes.INVALID_CONFIG,
      `${unset.map((m) => `${m.provider.apiKeyEnv} (model ${m.id})`).join(', ')} ${unset.length > 1 ? 'are' : 'is'} not set: export the API key${unset.length > 1 ? 's' : ''}, or remove apiKeyEnv for a keyless local server`,
      { param: `models.${cfg.models.indexOf(unset[0]!)}.provider.apiKeyEnv` },
    );
  for (const m of cfg.models) {
    const p = m.provider;
    const provider: Provider =
      p.kind === 'rules'
        ? new RulesProvider(m.id)
        : p.kind === 'replay'
          ? new ReplayProvider(
              m.id,
              await loadReplayStore(isAbsolute(p.data!) ? p.data! : resolve(dirname(cfg.source), p.data!)),
            )
          : new OpenAIProvider({
              baseUrl: p.baseUrl!,
              wire: p.kind === 'anthropic' ? anthropicWire : p.kind === 'azure' ? azureWire(p.apiVersion!) : openaiWire,
              model: p.upstreamModel ?? m.id,
              connectTimeoutMs: p.connectTimeoutMs,
              maxResponseBytes: p.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
              ...(p.apiKeyEnv && env[p.apiKeyEnv] ? { apiKey: env[p.apiKeyEnv] } : {}),
            });
    const limits = {
      ...(m.limits?.requestsPerMinute ? { requestsPerMinute: m.limits.requestsPerMinute } : {}),
      ...(m.limits?.tokensPerMinute ? { tokensPerMinute: m.limits.tokensPerMinute } : {}),
    };
    const options = { maxConcurrent: m.maxConcurrent, retries: p.retries, ...limits, ...gate };
    const kept = previous?.get(m.id)?.gate;
    kept?.reconfigure(options);
    out.set(m.id, {
      provider,
      gate: kept ?? new ModelGate(m.id, options),
      timeoutMs: p.timeoutMs,
      firstTokenMs: p.firstTokenMs,
      streamIdleMs: p.streamIdleMs ?? DEFAULT_STREAM_IDLE_MS,
      streamTotalMs: p.streamTotalMs ?? DEFAULT_STREAM_TOTAL_MS,
    });
  }
  return out;
}

export { ModelGate, isRetryable, countsAgainstModel, type BreakerState, type GateOptions } from './gate.js';
export { azureWire, OpenAIProvider, openaiWire, retryAfterMs, type Wire } from './openai.js';
export { anthropicWire, fromAnthropic, toAnthropic } from './anthropic.js';
export { ReplayProvider, loadReplayStore, type ReplayStore } from './replay.js';
export { RulesProvider, evaluate } from './rules.js';
export { requiredCapabilities, textOf } from './messages.js';
export type {
  CallOptions,
  ChatChunk,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  ContentPart,
  Provider,
} from './types.js';
export { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_STREAM_IDLE_MS, DEFAULT_STREAM_TOTAL_MS } from './limits.js';
