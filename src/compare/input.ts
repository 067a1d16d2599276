/**
 * A comparison's inputs, checked before any call is made: the prompts (JSONL: `prompt`, optional
 * `id`, `task`, `reference`, `assert`; malformed lines reported by number), the tests file (YAML:
 * assertions for every prompt, evaluator weights, score weights), the models (2 to 10 unless a
 * higher maximum is given, each configured) and the weights (non-negative, summing to more than 0).
 * Each problem is one coded error.
 */
import { readFile } from 'node:fs/promises';

import YAML from 'yaml';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { checkAssertion, type Assertion } from './assertions.js';
import type { CompareCase, ScoreWeights } from './types.js';

const bad = (param: string, message: string) => new ArbiterError(ErrorCodes.INVALID_ARGUMENT, message, { param });

/** Prompts from JSONL text: every malformed line named (up to 10) in one error. */
export function parseCases(text: string, source = 'prompts'): CompareCase[] {
  const cases: CompareCase[] = [];
  const problems: string[] = [];
  const ids = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const at = `${source}:${i + 1}`;
    let o: Record<string, unknown>;
    try {
      const v = JSON.parse(line) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
      o = v as Record<string, unknown>;
    } catch (e) {
      return void problems.push(`${at}: ${(e as Error).message}`);
    }
    if (typeof o.prompt !== 'string' || !o.prompt)
      return void problems.push(`${at}: "prompt" must be a non-empty string`);
    const id = o.id === undefined ? `#${i + 1}` : String(o.id);
    if (ids.has(id)) return void problems.push(`${at}: duplicate id ${JSON.stringify(id)}`);
    ids.add(id);
    for (const k of ['task', 'reference'] as const)
      if (o[k] !== undefined && typeof o[k] !== 'string') return void problems.push(`${at}: "${k}" must be a string`);
    let assert: Assertion[] | undefined;
    try {
      if (o.assert !== undefined) {
        if (!Array.isArray(o.assert)) throw bad('assert', `${at}: "assert" must be a list`);
        assert = o.assert.map((a, k) => checkAssertion(a, `${at}: assert[${k}]`));
      }
    } catch (e) {
      return void problems.push((e as Error).message);
    }
    cases.push({
      id,
      prompt: o.prompt,
      ...(typeof o.task === 'string' ? { task: o.task } : {}),
      ...(typeof o.reference === 'string' ? { reference: o.reference } : {}),
      ...(assert ? { assert } : {}),
    });
  });
  if (problems.length)
    throw bad(
      'prompts',
      `${problems.length} malformed line${problems.length > 1 ? 's' : ''}: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? '; …' : ''}`,
    );
  if (!cases.length) throw bad('prompts', `${source}: no prompts`);
  return cases;
}

export interface TestsFile {
  assert?: Assertion[];
  evaluators?: { assertions?: number; reference?: number; reward?: number };
  weights?: ScoreWeights;
  reward?: string;
}

/** The tests file (YAML): assertions for every prompt, evaluator and score weights, a reward by name. */
export async function readTests(path: string): Promise<TestsFile> {
  let raw: unknown;
  try {
    raw = YAML.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw bad('tests', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('tests', `${path}: must be a mapping`);
  const o = raw as Record<string, unknown>;
  const known = new Set(['assert', 'evaluators', 'weights', 'reward']);
  for (const k of Object.keys(o))
    if (!known.has(k)) throw bad('tests', `${path}: unknown key ${k} (have: ${[...known].join(', ')})`);
  const out: TestsFile = {};
  if (o.assert !== undefined) {
    if (!Array.isArray(o.assert)) throw bad('tests', `${path}: assert must be a list`);
    out.assert = o.assert.map((a, k) => checkAssertion(a, `${path}: assert[${k}]`));
  }
  if (o.evaluators !== undefined)
    out.evaluators = checkWeights(o.evaluators, `${path}: evaluators`, ['assertions', 'reference', 'reward']);
  if (o.weights !== undefined)
    out.weights = checkWeights(o.weights, `${path}: weights`, [
      'quality',
      'performance',
      'cost',
    ]) as unknown as ScoreWeights;
  if (o.reward !== undefined) {
    if (typeof o.reward !== 'string') throw bad('tests', `${path}: reward must be a reward's name`);
    out.reward = o.reward;
  }
  return out;
}

/** Weights: known keys, non-negative numbers, summing to more than 0. */
export function checkWeights(w: unknown, where: string, keys: readonly string[]): Record<string, number> {
  if (typeof w !== 'object' || w === null || Array.isArray(w))
    throw bad('weights', `${where}: must be a mapping of ${keys.join(', ')}`);
  const o = w as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (!keys.includes(k)) throw bad('weights', `${where}: unknown weight ${k} (have: ${keys.join(', ')})`);
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v))
      throw bad('weights', `${where}.${k}: must be a number ≥ 0`);
  }
  if (!Object.values(o).some((v) => (v as number) > 0))
    throw bad('weights', `${where}: at least one weight must be > 0`);
  return Object.fromEntries(keys.map((k) => [k, (o[k] as number | undefined) ?? 0]));
}

/** `quality,performance,cost` from the command line (e.g. 0.6,0.2,0.2). */
export function parseWeights(text: string): ScoreWeights {
  const parts = text.split(',').map((x) => Number(x.trim()));
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x)))
    throw bad(
      'weights',
      `--weights must be three numbers quality,performance,cost (e.g. 0.6,0.2,0.2), got ${JSON.stringify(text)}`,
    );
  const [quality, performance, cost] = parts as [number, number, number];
  return checkWeights({ quality, performance, cost }, '--weights', [
    'quality',
    'performance',
    'cost',
  ]) as unknown as ScoreWeights;
}

/** The models: 2 to `max` (default 10) distinct ids, each known. */
export function checkModels(models: readonly string[], known: readonly string[], max = 10): string[] {
  const ms = [...new Set(models.map((m) => m.trim()).filter(Boolean))];
  if (ms.length < 2) throw bad('models', `compare needs at least 2 models, got ${ms.length}`);
  if (ms.length > max)
    throw bad('models', `compare takes at most ${max} models (raise it with --max-models), got ${ms.length}`);
  const unknown = ms.filter((m) => !known.includes(m));
  if (unknown.length)
    throw new ArbiterError(
      ErrorCodes.NOT_FOUND,
      `unknown models: ${unknown.join(', ')} (configured: ${known.join(', ')})`,
      {
        param: 'models',
      },
    );
  return ms;
}

/** The judge: a configured model (NOT_FOUND naming the configured ones otherwise). */
export function checkJudge(judge: string, known: readonly string[]): string {
  if (!known.includes(judge))
    throw new ArbiterError(
      ErrorCodes.NOT_FOUND,
      `the judge model ${JSON.stringify(judge)} is not configured (configured: ${known.join(', ')})`,
      { param: 'judge' },
    );
  return judge;
}
