/**
 * The store's tables, one schema for SQLite and PostgreSQL. Rows are compact: a request row holds
 * ids, numbers and short codes (no prices, no copied config); prompt and answer text live in their
 * own table and only with `store.prompts: full`.
 */
import type { Generated } from 'kysely';

export interface RequestsTable {
  id: string;
  /** Start, epoch milliseconds. */
  ts: number;
  kind: string;
  /** SHA-256 prefix of the API key that made the request (never the key). */
  key_id: string | null;
  task: string | null;
  /** The model that answered (or began to, for a broken stream). */
  model: string | null;
  /** The router's pick, its strategy and predictions. */
  decision_model: string | null;
  strategy: string | null;
  predicted_quality: number | null;
  predicted_cost: number | null;
  /** Decoding: the strategy that ran. */
  decode_strategy: string | null;
  status: string;
  code: string | null;
  latency_ms: number;
  cost: number;
  prompt_tokens: number;
  completion_tokens: number;
  calls: number;
  /** Models given up on, comma-separated. */
  fallbacks: string | null;
  /** SHA-256 prefix of the prompt (store.prompts: hash or full). */
  prompt_hash: string | null;
  /** The experiment and arm the request was assigned to (migration 4). */
  experiment?: string | null;
  arm?: string | null;
  /** The decision's reason, confidence and leading alternatives, compact JSON (migration 6). */
  decision?: string | null;
}

export interface CallsTable {
  request_id: string;
  attempt: number;
  model: string;
  status: string;
  code: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
  /** 1 when tokens were estimated (the upstream gave no usage). */
  estimated: number;
  /** Pipelines: the phase the call ran for (migration 5). */
  phase?: string | null;
}

export interface FeedbackTable {
  request_id: string;
  source: string;
  /** 0..1 (ratings and thumbs are mapped onto it). */
  score: number;
  comment: string | null;
  ts: number;
  key_id: string | null;
}

export interface PromptsTable {
  request_id: string;
  prompt: string;
  answer: string | null;
}

/** What the router learned from one piece of feedback, so learning survives restarts and reloads. */
export interface LearnedTable {
  seq: Generated<number>;
  ts: number;
  model: string;
  quality: number;
  task: string | null;
  /** The prompt's embedding (fp32 little-endian bytes). */
  embedding: Uint8Array;
  /** The online capability row (task, logit ease, logit kNN quality), when the router has a head. */
  cap_task: string | null;
  cap_x1: number | null;
  cap_x2: number | null;
  /** The embedder it was computed with: points from another embedder are not replayed. */
  embedder: string;
}

/**
 * Hourly rollups per model × task × key, maintained in the same transaction as the rows they sum
 * (and by feedback): the stats query reads these, not the requests, so it stays fast at any volume.
 */
export interface RollupsTable extends RollupSums {
  /** The hour's start, epoch milliseconds. */
  hour: number;
  model: string;
  /** '*' when the request had no task. */
  task: string;
  /** '' when the request had no key. */
  key_id: string;
}

/** What a rollup row sums. */
export interface RollupSums {
  requests: number;
  errors: number;
  cost: number;
  latency_sum: number;
  prompt_tokens: number;
  completion_tokens: number;
  rated: number;
  score_sum: number;
  score_sq: number;
}

/**
 * Hourly latency histograms per model (migration 6), one row each: `metric` is `latency` (a
 * successful call's duration) or `ttft` (time to its first token); `buckets` holds the counts per
 * DDSketch log-mapping key (2% relative accuracy) as `key:count,…`, so a window's percentiles are
 * merged from a few rows per hour, never read from the requests.
 */
export interface RollupLatencyTable {
  hour: number;
  model: string;
  metric: string;
  n: number;
  buckets: string;
}

/**
 * The rollups' sums in narrow slices (migration 6), for the dashboard: per model (`slice` model,
 * `value` ''), per model × task (`task`, the task or '*'), and per key (`key`, model '', the key
 * id or ''). A 30-day window reads thousands of rows here where the rollups hold hundreds of
 * thousands (hours × models × tasks × keys).
 */
export interface RollupSlicesTable extends RollupSums {
  hour: number;
  slice: string;
  model: string;
  value: string;
}

/**
 * Hourly event counts per model (migration 6): `selected` (the router's pick), `fallback` (given
 * up on for another), `error:<code>` (a request that failed, on the model it failed on).
 */
export interface RollupEventsTable {
  hour: number;
  model: string;
  event: string;
  n: number;
}

/** Reports kept for the dashboard (migration 6): a comparison's report.json, newest first. */
export interface ReportsTable {
  id: string;
  ts: number;
  kind: string;
  title: string;
  body: string;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface Database {
  requests: RequestsTable;
  calls: CallsTable;
  feedback: FeedbackTable;
  prompts: PromptsTable;
  learned: LearnedTable;
  rollups: RollupsTable;
  rollup_latency: RollupLatencyTable;
  rollup_slices: RollupSlicesTable;
  rollup_events: RollupEventsTable;
  reports: ReportsTable;
  arbiter_meta: MetaTable;
}
