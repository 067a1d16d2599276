/**
 * The outcome store: every request, upstream call and rating, recorded off the request path into
 * SQLite (embedded default) or PostgreSQL; what the router learned from feedback, replayed on
 * start; the reads behind /v1/stats, /v1/requests/:id and `arbiter stats` / `export`.
 */
export type {
  AlternativeSummary,
  CallRecord,
  DecisionSummary,
  OutcomeEvent,
  OutcomeListener,
  RequestKind,
} from './events.js';
export { OutcomeStore, type OpenOptions } from './outcome-store.js';
export { openStore, parseStoreUrl } from './open.js';
export { MIGRATIONS, SCHEMA_VERSION, migrate } from './migrations.js';
export { Recorder, type RecorderOptions, type RecorderStatus } from './recorder.js';
export { toStored } from './record.js';
export {
  hashText,
  SqlStore,
  type Dialect,
  type PromptPolicy,
  type SpendRow,
  type StatsQuery,
  type StatsRow,
  type StoredRecord,
} from './sql-store.js';
export type { Database } from './schema.js';
export { Profiles, type LatencyProfile, type ProfileOptions, type QualityProfile } from './profiles.js';
export {
  armLatencies,
  experimentArms,
  experimentHours,
  getMeta,
  setMeta,
  type ExperimentArmRow,
} from './experiments.js';
export { bucketQuantiles, LATENCY_ACCURACY, latencyBucket } from './series.js';
export { ratedInterval } from './rollups.js';
export {
  COMPARISON_REPORT,
  StoreViews,
  type EventPoint,
  type GroupRow,
  type LatencyPoint,
  type RequestFilter,
  type RequestListRow,
  type SpendPoint,
  type StoredReport,
  type TrafficPoint,
  type Window,
} from './views.js';
