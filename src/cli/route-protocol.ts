/**
 * What the `arbiter route` reading thread and its workers exchange: the task (a batch of raw
 * lines), the result and the problems reported. Kept apart from the worker so the reading thread
 * can start the pool without loading the router.
 */
import type { BackendName } from '../compute/index.js';
import type { DecisionField, RouteOptions } from '../router/index.js';

/** What a worker's router is built from. */
export interface RouterSpec {
  config: string;
  /** A trained router model folder. */
  model?: string;
  /** Embedder spec (loadEmbedder); default: the config's. */
  embedder?: string;
}

export interface RouteTask extends RouterSpec {
  /** The backend the command selected: a router built on another one is rebuilt on it. */
  backend: BackendName;
  /** Whole JSONL lines (line-batches.ts), decoded and parsed here rather than on the reading thread. */
  bytes: Uint8Array;
  /** The number of the first line. */
  firstLine: number;
  /** Stop at the first malformed line (its lines before it are routed). */
  strict?: boolean;
  options?: RouteOptions;
  /** Only these decision fields (--fields); default: the whole decision. */
  fields?: DecisionField[];
}

export const MALFORMED = 'malformed';

/**
 * A worker's message once its task module and everything it imports are loaded: the reading
 * thread waits for it before stopping the pool early, as terminating a worker while it is still
 * loading modules aborts the whole process on Node 20 ("v8::Module::IsGraphAsync must be used on
 * an instantiated module"; 1 run in 60 of a bad-config command under load).
 */
export const MODULES_LOADED = 'arbiterModulesLoaded';

/** A line that could not be read or routed, reported by the command with its number. */
export interface LineProblem {
  lineNo: number;
  /** MALFORMED (not a prompt line) or the routing error's code. */
  code: string;
  message: string;
}

export interface RouteResult {
  /** The decisions as JSONL, UTF-8. */
  out: Uint8Array;
  routed: number;
  /** Malformed lines, in order (in strict mode at most one: the batch stopped there). */
  malformed: LineProblem[];
  /** Prompts that could not be routed. */
  errors: LineProblem[];
}
