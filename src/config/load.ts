/**
 * Loading and validating the config file (YAML or JSON) against the JSON Schema in schema.ts.
 * Every problem is reported at once, each naming its key path and what was expected, e.g.
 *   models[1].cost.inputPer1k: must be >= 0 (got -1)
 * Secrets are never read from the file: a literal API key is an error that says where to put it.
 */
import { readFile } from 'node:fs/promises';

import type { ErrorObject, ValidateFunction } from 'ajv';
import YAML from 'yaml';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { RESERVED_NAMES } from '../names.js';
import { redactSecrets } from '../text.js';
import { BUILTIN_PIPELINES, BUILTIN_PROFILES } from './builtin-pipelines.js';
import { pipelineProblems, profileProblems } from './pipelines.js';
import generatedValidate from './config-validator.generated.js';
import type { ArbiterConfig } from './types.js';

// the schema compiled ahead of time with Ajv (scripts/gen-config-validator.mjs, `npm run
// gen:config`; a test fails while it is out of date): compiling it in every process took ~40-50 ms
// of each start. The schema itself is checked against the JSON Schema meta-schema in
// test/models.config.test.ts.
const validate = generatedValidate as unknown as ValidateFunction;

const SECRET_KEYS = /^(api[_-]?key|secret|token|password|authorization)$/i;

/** JSON-pointer "/models/1/cost" -> "models[1].cost". */
function keyPath(pointer: string, extra?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || '(root)';
}

function valueAt(data: unknown, pointer: string): unknown {
  let cur = data;
  for (const p of pointer.split('/').slice(1)) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return cur;
}

/** A value as an error quotes it: credentials masked (a key pasted where a name belongs), long strings cut. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return redactSecrets(s.length > 80 ? `${s.slice(0, 77)}…` : s);
}

function explain(e: ErrorObject, data: unknown): string | undefined {
  if (e.propertyName !== undefined && e.keyword !== 'propertyNames') return undefined; // repeated by 'propertyNames'
  const p = e.params as Record<string, unknown>;
  const got = ` (got ${describe(valueAt(data, e.instancePath))})`;
  switch (e.keyword) {
    case 'if':
      return undefined; // its 'then' error says what is missing
    case 'required':
      return `${keyPath(e.instancePath, String(p.missingProperty))}: is required`;
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      return SECRET_KEYS.test(key)
        ? `${keyPath(e.instancePath, key)}: secrets are not allowed in the config file; put the key in an environment variable and name that variable in apiKeyEnv`
        : `${keyPath(e.instancePath, key)}: unknown key`;
    }
    case 'enum':
      return `${keyPath(e.instancePath)}: must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}${got}`;
    case 'type':
      return `${keyPath(e.instancePath)}: must be ${e.keyword === 'type' && p.type === 'integer' ? 'an integer' : `a ${String(p.type)}`}${got}`;
    case 'propertyNames':
      return RESERVED_NAMES.includes(String(p.propertyName))
        ? `${keyPath(e.instancePath, String(p.propertyName))}: ${String(p.propertyName)} is a reserved name, not a task name`
        : `${keyPath(e.instancePath, String(p.propertyName))}: task names must be lower-case words (a-z, 0-9, _ and -)`;
    case 'pattern':
      if (e.instancePath.endsWith('/id'))
        return `${keyPath(e.instancePath)}: must be 1-128 letters, digits or . _ : / - (got ${describe(valueAt(data, e.instancePath))})`;
      if (e.instancePath.endsWith('/baseUrl')) return `${keyPath(e.instancePath)}: must be an http(s) URL${got}`;
      if (e.instancePath.endsWith('/apiKeyEnv'))
        // never quoted: what is here instead of a variable name is often the key itself
        return `${keyPath(e.instancePath)}: must be the name of an environment variable (e.g. OPENAI_API_KEY), not the key`;
      return `${keyPath(e.instancePath)}: must match ${String(p.pattern)}${got}`;
    default:
      return `${keyPath(e.instancePath)}: ${e.message ?? e.keyword}${got}`;
  }
}

/** Problems sorted by key path (models[2] before models[10]), so the list reads like the file. */
const byPath = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

function fail(source: string, unsorted: string[]): never {
  const problems = [...unsorted].sort(byPath);
  const first = problems[0]!.split(':')[0];
  throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `${source}: invalid config:\n  - ${problems.join('\n  - ')}`, {
    details: problems,
    ...(first && first !== '(root)' ? { param: first } : {}),
  });
}

/** Validates a parsed config object (defaults filled in on a copy) and returns it typed and frozen. */
export function validateConfig(raw: unknown, source = 'config'): ArbiterConfig {
  let data: Record<string, unknown>;
  try {
    data = structuredClone(raw) as Record<string, unknown>;
  } catch (e) {
    fail(source, [`(root): must be plain data (objects, arrays, strings, numbers, booleans): ${(e as Error).message}`]);
  }
  // the built-in pipelines and profiles, unless the config defines the same ids (a config that is
  // not an object is left to the schema to refuse)
  if (data && typeof data === 'object' && !Array.isArray(data)) addBuiltins(data);
  if (!validate(data)) {
    const problems = [...new Set((validate.errors ?? []).map((e) => explain(e, data)).filter((m): m is string => !!m))];
    fail(source, problems);
  }
  const cfg = data as unknown as Omit<ArbiterConfig, 'source'>;
  const problems: string[] = [];
  const seen = new Map<string, number>();
  cfg.models.forEach((m, i) => {
    const prev = seen.get(m.id);
    if (prev !== undefined) problems.push(`models[${i}].id: duplicate id '${m.id}' (also models[${prev}])`);
    seen.set(m.id, i);
  });
  const w = cfg.routing.weights;
  if (w.quality + w.cost + w.latency === 0) problems.push('routing.weights: at least one weight must be > 0');
  const judge = cfg.rewards.judge?.model;
  if (judge !== undefined && !seen.has(judge))
    problems.push(
      `rewards.judge.model: '${judge}' is not one of the configured models (${[...seen.keys()].join(', ')})`,
    );
  problems.push(...experimentProblems(cfg, seen));
  problems.push(...pipelineProblems(cfg.pipelines, seen));
  problems.push(...profileProblems(cfg, seen));
  if (problems.length) fail(source, problems);
  return deepFreeze({ ...cfg, source });
}

function addBuiltins(data: Record<string, unknown>): void {
  const idOf = (q: unknown) => (q && typeof q === 'object' ? (q as { id?: unknown }).id : undefined);
  for (const [key, builtins] of [
    ['pipelines', BUILTIN_PIPELINES],
    ['profiles', BUILTIN_PROFILES],
  ] as const) {
    const given = data[key];
    if (given !== undefined && !Array.isArray(given)) continue;
    const own = new Set((given ?? []).map(idOf));
    data[key] = [...(given ?? []), ...structuredClone(builtins).filter((b) => !own.has(b.id))];
  }
}

/** Parses YAML (a superset of JSON) or, for a .json source, JSON; then validates. */
export function parseConfig(text: string, source = 'config'): ArbiterConfig {
  let raw: unknown;
  try {
    raw = source.endsWith('.json')
      ? JSON.parse(text)
      : YAML.parse(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  } catch (e) {
    const err = e as Error & { linePos?: Array<{ line: number; col: number }> };
    const at = err.linePos?.[0] ? `:${err.linePos[0].line}:${err.linePos[0].col}` : '';
    throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `${source}${at}: cannot parse: ${err.message.split('\n')[0]}`, {
      cause: e,
    });
  }
  return validateConfig(raw, source);
}

export async function loadConfig(path: string): Promise<ArbiterConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ArbiterError(
      ErrorCodes.INVALID_CONFIG,
      `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { cause: e },
    );
  }
  return parseConfig(text, path);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

/** What is wrong with the experiments: unknown models, arms that are neither or both, ids and scopes that clash. */
function experimentProblems(cfg: Omit<ArbiterConfig, 'source'>, models: ReadonlyMap<string, number>): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const scopes = new Map<string, Scope>();
  cfg.experiments.forEach((x, i) => {
    if (ids.has(x.id)) problems.push(`experiments[${i}].id: duplicate id '${x.id}'`);
    ids.add(x.id);
    const arms = new Set<string>();
    x.arms.forEach((a, j) => {
      const at = `experiments[${i}].arms[${j}]`;
      if (arms.has(a.id)) problems.push(`${at}.id: duplicate arm '${a.id}'`);
      arms.add(a.id);
      if ([a.model, a.strategy, a.pipeline, a.decoding, a.router].filter((v) => v !== undefined).length !== 1)
        problems.push(`${at}: give exactly one of model (a configured id), strategy, pipeline, decoding or router`);
      if (a.pipeline !== undefined && !cfg.pipelines.some((q) => q.id === a.pipeline))
        problems.push(
          `${at}.pipeline: '${a.pipeline}' is not one of the pipelines (${cfg.pipelines.map((q) => q.id).join(', ')})`,
        );
      if (a.model !== undefined && !models.has(a.model))
        problems.push(
          `${at}.model: '${a.model}' is not one of the configured models (${[...models.keys()].join(', ')})`,
        );
    });
    // quality from the reward or a judge needs something that scores answers
    const scorer = cfg.store?.autoScore ? (cfg.store.autoScore.reward === 'judge' ? 'judge' : 'reward') : undefined;
    if (
      x.metric === 'quality' &&
      (x.qualitySource === 'reward' || x.qualitySource === 'judge') &&
      scorer !== x.qualitySource
    )
      problems.push(
        `experiments[${i}].qualitySource: '${x.qualitySource}' has no source: set store.autoScore to score a share of answers with ${x.qualitySource === 'judge' ? 'the judge (reward: judge)' : 'a reward'}`,
      );
    // two experiments on the same traffic would each take it: scopes must not overlap
    if (x.unit === 'header' && !x.header)
      problems.push(`experiments[${i}].unit: header needs a header scope (header.name)`);
    const mine = {
      keys: x.keys ? new Set(x.keys) : undefined,
      header: x.header,
      tasks: x.tasks ? new Set(x.tasks) : undefined,
      users: x.users ? new Set(x.users) : undefined,
    };
    for (const [otherId, theirs] of scopes)
      if (overlap(mine, theirs))
        problems.push(`experiments[${i}]: overlaps experiment '${otherId}' (the same traffic would be in both)`);
    scopes.set(x.id, mine);
  });
  return problems;
}

interface Scope {
  keys: Set<string> | undefined;
  header: { name: string; value?: string } | undefined;
  tasks: Set<string> | undefined;
  users: Set<string> | undefined;
}

/** Whether some request could fall in both scopes. */
function overlap(a: Scope, b: Scope): boolean {
  const keys = !a.keys || !b.keys || [...a.keys].some((k) => b.keys!.has(k));
  const tasks = !a.tasks || !b.tasks || [...a.tasks].some((t) => b.tasks!.has(t));
  const users = !a.users || !b.users || [...a.users].some((u) => b.users!.has(u));
  const header =
    !a.header ||
    !b.header ||
    a.header.name.toLowerCase() !== b.header.name.toLowerCase() ||
    a.header.value === undefined ||
    b.header.value === undefined ||
    a.header.value === b.header.value;
  return keys && tasks && users && header;
}
