/**
 * Outcome datasets: prompts with per-model outcomes in [0, 1] and, where known, per-model cost
 * in USD. Loaders report malformed data with the file and line.
 *   - RouterBench CSV: `prompt` (a Python-list literal of strings), `eval_name`, a 0/1 column per
 *     model and `<model>|total_cost`. Task labels come from eval_name (arc → knowledge,
 *     winogrande → reasoning, mbpp → code; others as their own lower-case label).
 *   - JSONL (documented in the README): {"prompt": string, "task"?: string,
 *     "outcomes": {model: number in [0, 1]}, "costs"?: {model: USD}} per line.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { parse } from 'csv-parse/sync';

import { ArbiterError, ErrorCodes } from '../errors.js';

export interface OutcomeRecord {
  prompt: string;
  task?: string;
  outcomes: Record<string, number>;
  costs: Record<string, number>;
  /** file:line, for messages. */
  source: string;
}

const bad = (where: string, msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${where}: ${msg}`, { param: 'data' });
};

/** RouterBench stores each prompt as a Python list literal of strings: ['...']; the first is the prompt. */
export function unwrapPythonList(raw: string): string {
  const m = /^\s*\[\s*(['"])([\s\S]*)\1\s*\]\s*$/.exec(raw);
  if (!m) return raw;
  return m[2]!.replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/\\(['"\\])/g, '$1');
}

export function taskFromEvalName(name: string): string {
  const n = name.toLowerCase();
  if (n.includes('arc')) return 'knowledge';
  if (n.includes('wino')) return 'reasoning';
  if (n.includes('mbpp') || n.includes('humaneval')) return 'code';
  if (n.includes('gsm') || n.includes('math')) return 'math';
  if (n.includes('mmlu')) return 'knowledge';
  return n.replace(/[^a-z0-9_-]+/g, '-').replace(/^[^a-z]+/, '') || 'general';
}

async function files(path: string, pattern: RegExp): Promise<string[]> {
  let s;
  try {
    s = await stat(path);
  } catch (e) {
    return bad(path, `cannot read (${(e as NodeJS.ErrnoException).code})`);
  }
  if (!s.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => pattern.test(n)).sort();
  if (!names.length) bad(path, `no files matching ${pattern}`);
  return names.map((n) => join(path, n));
}

/** A RouterBench CSV, or every *_train.csv (or, with split 'test', *_test.csv) in a folder. */
export async function loadRouterBench(path: string, split: 'train' | 'test' = 'train'): Promise<OutcomeRecord[]> {
  const out: OutcomeRecord[] = [];
  for (const file of await files(path, new RegExp(`_${split}\\.csv$`))) {
    let rows: Array<Record<string, string>>;
    try {
      rows = parse(await readFile(file), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
    } catch (e) {
      return bad(file, (e as Error).message);
    }
    if (!rows.length) continue;
    const models = Object.keys(rows[0]!).filter((c) => !c.includes('|') && `${c}|total_cost` in rows[0]!);
    if (!models.length) bad(file, 'no model columns (a 0/1 column per model with a matching "<model>|total_cost" column)');
    rows.forEach((r, i) => {
      const where = `${file}:${i + 2}`;
      if (typeof r.prompt !== 'string' || !r.prompt) bad(where, 'missing prompt');
      const outcomes: Record<string, number> = {};
      const costs: Record<string, number> = {};
      for (const m of models) {
        const o = Number(r[m]);
        const c = Number(r[`${m}|total_cost`]);
        if (!(o >= 0 && o <= 1)) bad(where, `${m}: outcome must be in [0, 1], got ${JSON.stringify(r[m])}`);
        if (!(c >= 0)) bad(where, `${m}|total_cost must be a number >= 0, got ${JSON.stringify(r[`${m}|total_cost`])}`);
        outcomes[m] = o;
        costs[m] = c;
      }
      out.push({ prompt: unwrapPythonList(r.prompt!), task: taskFromEvalName(r.eval_name ?? ''), outcomes, costs, source: where });
    });
  }
  return out;
}

export async function loadJsonl(path: string): Promise<OutcomeRecord[]> {
  const out: OutcomeRecord[] = [];
  for (const file of await files(path, /\.jsonl$/)) {
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      const where = `${file}:${i + 1}`;
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(line) as Record<string, unknown>;
      } catch (e) {
        return bad(where, `not JSON (${(e as Error).message})`);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(where, 'must be a JSON object');
      if (typeof v.prompt !== 'string') bad(where, '"prompt" must be a string');
      if (v.task !== undefined && (typeof v.task !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(v.task))) bad(where, '"task" must be a lower-case word');
      const outcomes = v.outcomes as Record<string, unknown>;
      if (typeof outcomes !== 'object' || outcomes === null || !Object.keys(outcomes).length) bad(where, '"outcomes" must be an object {model: number in [0, 1]}');
      for (const [m, o] of Object.entries(outcomes)) if (typeof o !== 'number' || !(o >= 0 && o <= 1)) bad(where, `outcomes.${m} must be a number in [0, 1]`);
      const costs = (v.costs ?? {}) as Record<string, unknown>;
      if (typeof costs !== 'object' || costs === null) bad(where, '"costs" must be an object {model: USD}');
      for (const [m, c] of Object.entries(costs)) if (typeof c !== 'number' || !(c >= 0)) bad(where, `costs.${m} must be a number >= 0`);
      out.push({ prompt: v.prompt as string, ...(v.task ? { task: v.task as string } : {}), outcomes: outcomes as Record<string, number>, costs: costs as Record<string, number>, source: where });
    });
  }
  return out;
}

/** Text normalised for duplicate checks across splits. */
export function normalizePrompt(p: string): string {
  return p.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}
