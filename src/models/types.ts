/** A configured model and how to reach it. Units: USD per 1,000 tokens; milliseconds; tokens. */

export type ProviderKind = 'openai' | 'replay';

export interface ProviderSettings {
  kind: ProviderKind;
  /** OpenAI-compatible endpoint, e.g. http://127.0.0.1:8001/v1 (kind 'openai'). */
  baseUrl?: string;
  /** Name of the environment variable that holds the API key; the key itself never sits in the file. */
  apiKeyEnv?: string;
  /** Model name to send upstream (defaults to the model's id). */
  upstreamModel?: string;
  /** Recorded-outcome dataset to answer from (kind 'replay'). */
  data?: string;
  /** Per attempt: to the whole response (to the headers, for streams). Default 60 s. */
  timeoutMs: number;
  /** Per attempt: to an open TCP (and TLS) connection. Default 5 s. */
  connectTimeoutMs: number;
  /** Streams: to the first token. Default 20 s. */
  firstTokenMs: number;
  /** Retries of retryable failures on this model before falling back. Default 2. */
  retries: number;
}

export interface ModelSpec {
  id: string;
  provider: ProviderSettings;
  cost: { inputPer1k: number; outputPer1k: number };
  contextTokens: number;
  maxConcurrent: number;
  /** Optional per-minute limits (a call over them fails fast with ARB_RATE_LIMITED and falls back). */
  limits?: { requestsPerMinute?: number; tokensPerMinute?: number };
  /** Latency prior until measurements arrive. */
  latency: { firstTokenMs: number; tokensPerSec: number };
  /** Prior quality per task type in [0, 1] (the taxonomy is open: any task name). */
  strengths: Record<string, number>;
  tags: string[];
}

export type Strategy = 'quality' | 'cost' | 'latency' | 'balanced' | 'custom';

export interface RoutingSettings {
  strategy: Strategy;
  /** Relative weights for 'custom' (and the 'balanced' default); need not sum to 1. */
  weights: { quality: number; cost: number; latency: number };
  /** Quality-target mode: the cheapest model predicted to reach this quality. */
  qualityTarget?: number;
  /** A trained router model folder (arbiter train); relative paths are from the config file's folder. */
  model?: string;
  /** Embedder spec: static (default), static:<dir>, use, onnx:<path>. */
  embedder: string;
  /** Neighbours per kNN vote. */
  k: number;
}

export interface RewardSettings {
  /** A reward head folder (arbiter train-reward), relative to the config file. */
  head?: string;
  /** An ONNX reward model (folder or .onnx with tokenizer.json beside it), relative to the config file. */
  onnx?: string;
  /** An LLM judge: one of the configured models. */
  judge?: { model: string; maxTokens: number };
}

export interface ArbiterConfig {
  models: ModelSpec[];
  routing: RoutingSettings;
  rewards: RewardSettings;
  /** Where the config came from (a path, or a label for in-memory configs). */
  source: string;
}
