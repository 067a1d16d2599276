/**
 * What a comparison checks an answer with: assertions (equals, contains, regex, is-JSON, a JSON
 * Schema, a numeric answer, a choice letter — numbers and letters found by the project's answer
 * extractor), validated when the prompts and tests are read, each scoring 0 or 1.
 */
import { Ajv } from 'ajv';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { extractAnswer } from '../reward/index.js';

export const assertionSchema = {
  type: 'object',
  required: ['type'],
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'value'],
      properties: {
        type: { enum: ['equals', 'contains', 'regex', 'choice'] },
        value: { type: 'string', minLength: 1, maxLength: 10_000 },
        ignoreCase: { type: 'boolean' },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: { type: { const: 'is-json' } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'value'],
      properties: { type: { const: 'json-schema' }, value: { type: 'object' } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'value'],
      properties: {
        type: { const: 'number' },
        value: { type: 'number' },
        tolerance: { type: 'number', minimum: 0 },
      },
    },
  ],
} as const;

export type Assertion =
  | { type: 'equals' | 'contains' | 'regex' | 'choice'; value: string; ignoreCase?: boolean }
  | { type: 'is-json' }
  | { type: 'json-schema'; value: Record<string, unknown> }
  | { type: 'number'; value: number; tolerance?: number };

const ajv = new Ajv({ allErrors: false, strict: false });
const validateAssertion = ajv.compile(assertionSchema);

/** Checks an assertion's shape (and compiles its regex or schema): INVALID_ARGUMENT naming `where`. */
export function checkAssertion(a: unknown, where: string): Assertion {
  if (!validateAssertion(a))
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `${where}: not an assertion (${ajv.errorsText(validateAssertion.errors)}); types: equals, contains, regex, choice, is-json, json-schema, number`,
      { param: where },
    );
  const x = a as Assertion;
  try {
    if (x.type === 'regex') new RegExp(x.value, x.ignoreCase ? 'i' : '');
    if (x.type === 'json-schema') ajv.compile(x.value);
  } catch (e) {
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${where}: ${(e as Error).message}`, { param: where });
  }
  return x;
}

const compiledSchemas = new WeakMap<object, ReturnType<typeof ajv.compile>>();

/** 1 when the answer meets the assertion, else 0. */
export function assertionScore(a: Assertion, answer: string, prompt: string): number {
  const fold = (s: string) => ('ignoreCase' in a && a.ignoreCase ? s.toLowerCase() : s);
  switch (a.type) {
    case 'equals':
      return fold(answer.trim()) === fold(a.value.trim()) ? 1 : 0;
    case 'contains':
      return fold(answer).includes(fold(a.value)) ? 1 : 0;
    case 'regex':
      return new RegExp(a.value, a.ignoreCase ? 'i' : '').test(answer) ? 1 : 0;
    case 'choice':
      return extractAnswer(answer, 'choice', prompt)?.toUpperCase() === a.value.trim().toUpperCase() ? 1 : 0;
    case 'number': {
      const got = Number(extractAnswer(answer, 'number'));
      return Number.isFinite(got) && Math.abs(got - a.value) <= (a.tolerance ?? 1e-6 * Math.max(1, Math.abs(a.value)))
        ? 1
        : 0;
    }
    case 'is-json':
    case 'json-schema': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(stripFence(answer));
      } catch {
        return 0;
      }
      if (a.type === 'is-json') return 1;
      let v = compiledSchemas.get(a.value);
      if (!v) compiledSchemas.set(a.value, (v = ajv.compile(a.value)));
      return v(parsed) ? 1 : 0;
    }
  }
}

/** A JSON answer wrapped in a Markdown code fence, unwrapped. */
function stripFence(s: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(s);
  return m ? m[1]! : s;
}
