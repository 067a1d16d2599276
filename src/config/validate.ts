/**
 * Library-side validation with the same schemas the gateway uses (config/requests.ts): the first
 * problem becomes ARB_INVALID_ARGUMENT naming its key path under `root` (e.g.
 * `options.constraints.maxCost`). A schema node marked `'x-param': 'whole'` is named as a whole
 * (`options.weights`, not `options.weights.quality`).
 */
import { createRequire } from 'node:module';

import type { Ajv, ErrorObject } from 'ajv';
import type * as AjvModule from 'ajv';

import { invalid } from '../errors.js';

// strict: unknown keywords are schema bugs, except our own annotation; the schemas are ours and
// fixed, checked against the meta-schema in test/models.config.test.ts, not at every start.
// Loaded and made at the first check: a process that checks none (a route worker) skips ~20 ms
// of loading Ajv and ~10 ms of setting one up.
let ajv: Ajv | undefined;
const requestAjv = () =>
  (ajv ??= new (createRequire(import.meta.url)('ajv') as typeof AjvModule).Ajv({
    strict: true,
    validateSchema: false,
    allErrors: false,
    coerceTypes: false,
    useDefaults: false,
    keywords: ['x-param'],
  }));

type Node = { properties?: Record<string, Node>; items?: Node; 'x-param'?: string };

/** The key path an error is about, cut at a node named as a whole. */
function paramOf(schema: Node, e: ErrorObject, root: string): string {
  const parts = e.instancePath.split('/').slice(1);
  const p = e.params as { additionalProperty?: string; missingProperty?: string };
  if (p.additionalProperty !== undefined) parts.push(p.additionalProperty);
  if (p.missingProperty !== undefined) parts.push(p.missingProperty);
  const out: string[] = [];
  let node: Node | undefined = schema;
  for (const part of parts) {
    if (node?.['x-param'] === 'whole') break;
    out.push(/^\d+$/.test(part) ? `[${part}]` : part);
    node = /^\d+$/.test(part) ? node?.items : node?.properties?.[part];
  }
  return [root, ...out].filter(Boolean).join('.').replace(/\.\[/g, '[') || 'value';
}

function describe(e: ErrorObject): string {
  const p = e.params as { allowedValues?: unknown[]; additionalProperty?: string };
  if (e.keyword === 'enum') return `must be one of ${(p.allowedValues ?? []).map(String).join(', ')}`;
  if (e.keyword === 'additionalProperties') return 'is not a known option';
  return e.message ?? 'is invalid';
}

/** A checker for `schema`: returns the value typed, or throws ARB_INVALID_ARGUMENT. */
export function checker<T>(schema: object, root: string): (value: unknown) => T {
  // compiled at the first check, not at import: a process that never checks one pays nothing
  let validate: ReturnType<Ajv['compile']> | undefined;
  return (value: unknown): T => {
    validate ??= requestAjv().compile(schema);
    if (validate(value)) return value as T;
    const e = validate.errors![0]!;
    const param = paramOf(schema as Node, e, root);
    throw invalid(param, describe(e));
  };
}
