/**
 * What the dashboard's data API answers (and a report embeds): plain JSON, shared with the page's
 * sources (dashboard/), which import these types only.
 */

export interface Interval {
  mean: number;
  low: number;
  high: number;
}

export interface ModelLive {
  id: string;
  state: 'healthy' | 'cooling down' | 'half-open' | 'saturated' | 'rate limited';
  inFlight: number;
  queued: number;
  maxConcurrent: number;
  /** Open breakers: milliseconds until a probe is let through. */
  retryInMs?: number;
  /** The breaker's latest transitions, newest first. */
  history: Array<{ at: number; state: 'closed' | 'open' | 'half-open' }>;
}

export interface Live {
  generatedAt: number;
  models: ModelLive[];
  store: { status: string; queued: number; written: number; dropped: number } | null;
}

export interface Step {
  /** Step start, epoch ms. */
  t: number;
  model: string;
  requests: number;
  errors: number;
  cost: number;
  tokens: number;
  meanLatencyMs: number;
  selected: number;
  fallbacks: number;
  /** What these requests' tokens would have cost on the strongest model. */
  strongestCost: number;
}

export interface LatencyStep {
  t: number;
  model: string;
  metric: 'latency' | 'ttft';
  n: number;
  p50: number;
  p95: number;
}

export interface QualityCell {
  model: string;
  task: string;
  requests: number;
  rated: number;
  /** rated / requests. */
  ratedShare: number;
  quality: Interval | null;
}

export interface Spend {
  /** A task, or an API key's id ('' for requests without a key). */
  key: string;
  requests: number;
  errors: number;
  cost: number;
  tokens: number;
}

export interface SpendStep {
  t: number;
  value: string;
  requests: number;
  cost: number;
}

export interface Overview {
  generatedAt: number;
  since: number;
  until: number;
  stepHours: number;
  models: string[];
  totals: {
    requests: number;
    errors: number;
    cost: number;
    tokens: number;
    fallbacks: number;
    rated: number;
    /** The strongest model (highest mean prior strength), and what always using it would have cost. */
    strongest: string | null;
    strongestCost: number;
    saved: number;
  };
  steps: Step[];
  latency: LatencyStep[];
  /** Per model over the window (t = -1 rows of the latency series). */
  latencyByModel: LatencyStep[];
  errorsByCode: Array<{ code: string; model: string; n: number }>;
  byKey: Spend[];
  byTask: Spend[];
  /** Spend per task and per key over time (t, the task or key id, requests, cost). */
  taskSteps: SpendStep[];
  keySteps: SpendStep[];
  quality: QualityCell[];
}

export interface RequestRow {
  id: string;
  ts: number;
  kind: string;
  task: string | null;
  model: string | null;
  decisionModel: string | null;
  strategy: string | null;
  status: string;
  code: string | null;
  latencyMs: number;
  cost: number;
  keyId: string | null;
  fallbacks: string[];
}

export interface AlternativeView {
  model: string;
  quality: number | null;
  cost: number | null;
  latencyMs: number | null;
  score: number | null;
  eligible: boolean;
  excluded?: string;
}

export interface RequestDetail extends RequestRow {
  decision: {
    model: string | null;
    reason: string | null;
    confidence: number | null;
    taskConfidence: number | null;
    alternatives: AlternativeView[];
  };
  predicted: { quality: number | null; cost: number | null; latencyMs: number | null };
  actual: { quality: number | null; cost: number; latencyMs: number };
  calls: Array<{
    attempt: number;
    model: string;
    status: string;
    code: string | null;
    latencyMs: number;
    ttftMs: number | null;
    promptTokens: number;
    completionTokens: number;
    cost: number;
    estimated: boolean;
    phase: string | null;
  }>;
  feedback: Array<{ source: string; score: number; comment: string | null; ts: number }>;
  experiment: { id: string; arm: string } | null;
  prompt?: string;
  answer?: string | null;
}

export interface ExperimentView {
  id: string;
  metric: string;
  state: string;
  /** The analysis (arms, estimates with sequential intervals, guardrails, decision), when a store is kept. */
  report: unknown;
}

export interface ComparisonView {
  id: string;
  ts: number;
  title: string;
  report: {
    cases: number;
    models: Array<{
      model: string;
      calls: number;
      errorRate: number;
      quality: Interval;
      p95LatencyMs: number | null;
      costPer1k: number;
      overall: number;
    }>;
    recommendations: { overall: string; quality: string; speed: string | null; cost: string };
    pareto: string[];
  };
}

/** Everything a report file holds: the page renders it as it renders the live API. */
export interface Snapshot {
  overview: Overview;
  live: Live | null;
  requests: RequestRow[];
  /** Details of the listed requests (a report can open them without a server). */
  details: Record<string, RequestDetail>;
  experiments: ExperimentView[];
  comparisons: ComparisonView[];
}
