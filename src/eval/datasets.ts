/**
 * Outcome datasets: prompts with per-model outcomes in [0, 1] and, where known, per-model cost
 * in USD. Loaders report malformed data with the file and line.
 *   - RouterBench CSV: `prompt` (a Python-list literal of strings), `eval_name`, a 0/1 column per
 *     model and `<model>|total_cost`. Task labels come from eval_name (arc → knowledge,
 *     winogrande → reasoning, mbpp → code; others as their own lower-case label).
 *   - RouteLLM (lm-sys/RouteLLM's evaluation data): CSVs with `prompt` and a True/False column
 *     per model (MMLU → knowledge, GSM8K → math), and MT-Bench's question.jsonl + judgements.jsonl
 *     (GPT-4 judge scores 1–10, mean over a model's turns, scaled to [0, 1]; task by category).
 *     Prompts listed in a folder's contaminated_prompts.jsonl are left out unless asked for.
 *   - JSONL (documented in the README): {"prompt": string, "task"?: string,
 *     "outcomes": {model: number in [0, 1]}, "costs"?: {model: USD}, "responses"?: {model: text}}
 *     per line.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { parse } from 'csv-parse/sync';

import { ArbiterError, ErrorCodes } from '../errors.js';
import type { OutcomeRecord } from '../learn/index.js';
import { normalizePrompt, unwrapPythonList } from '../text.js';
import { isTaskName } from '../names.js';

const bad = (where: string, msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${where}: ${msg}`, { param: 'data' });
};

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
    if (!models.length)
      bad(file, 'no model columns (a 0/1 column per model with a matching "<model>|total_cost" column)');
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
      const responses: Record<string, string> = {};
      for (const m of models)
        if (typeof r[`${m}|model_response`] === 'string') responses[m] = unwrapPythonList(r[`${m}|model_response`]!);
      out.push({
        prompt: unwrapPythonList(r.prompt!),
        task: taskFromEvalName(r.eval_name ?? ''),
        outcomes,
        costs,
        ...(Object.keys(responses).length ? { responses } : {}),
        source: where,
      });
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
      if (v.task !== undefined && !isTaskName(v.task)) bad(where, '"task" must be a lower-case word');
      const outcomes = v.outcomes as Record<string, unknown>;
      if (typeof outcomes !== 'object' || outcomes === null || !Object.keys(outcomes).length)
        bad(where, '"outcomes" must be an object {model: number in [0, 1]}');
      for (const [m, o] of Object.entries(outcomes))
        if (typeof o !== 'number' || !(o >= 0 && o <= 1)) bad(where, `outcomes.${m} must be a number in [0, 1]`);
      const costs = (v.costs ?? {}) as Record<string, unknown>;
      if (typeof costs !== 'object' || costs === null) bad(where, '"costs" must be an object {model: USD}');
      for (const [m, c] of Object.entries(costs))
        if (typeof c !== 'number' || !(c >= 0)) bad(where, `costs.${m} must be a number >= 0`);
      const tokens = v.tokens as Record<string, { prompt?: unknown; completion?: unknown }> | undefined;
      if (tokens !== undefined) {
        if (typeof tokens !== 'object' || tokens === null || Array.isArray(tokens))
          bad(where, '"tokens" must be an object {model: {prompt, completion}}');
        for (const [m, t] of Object.entries(tokens))
          if (
            typeof t !== 'object' ||
            t === null ||
            !(Number.isInteger(t.prompt) && (t.prompt as number) >= 0) ||
            !(Number.isInteger(t.completion) && (t.completion as number) >= 0)
          )
            bad(where, `tokens.${m} must be {prompt, completion}: integers >= 0`);
      }
      const responses = v.responses as Record<string, unknown> | undefined;
      if (
        responses !== undefined &&
        (typeof responses !== 'object' ||
          responses === null ||
          Array.isArray(responses) ||
          Object.values(responses).some((r) => typeof r !== 'string'))
      )
        bad(where, '"responses" must be an object {model: response text}');
      out.push({
        prompt: v.prompt as string,
        ...(v.task ? { task: v.task as string } : {}),
        outcomes: outcomes as Record<string, number>,
        costs: costs as Record<string, number>,
        ...(tokens ? { tokens: tokens as Record<string, { prompt: number; completion: number }> } : {}),
        ...(responses ? { responses: responses as Record<string, string> } : {}),
        source: where,
      });
    });
  }
  return out;
}

/** MT-Bench categories onto the task taxonomy. */
const MT_BENCH_TASKS: Record<string, string> = {
  writing: 'creative',
  roleplay: 'creative',
  reasoning: 'reasoning',
  math: 'math',
  coding: 'code',
  extraction: 'extraction',
  stem: 'knowledge',
  humanities: 'knowledge',
};

async function readJsonl(file: string): Promise<Array<{ v: Record<string, unknown>; where: string }>> {
  const out: Array<{ v: Record<string, unknown>; where: string }> = [];
  (await readFile(file, 'utf8')).split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      bad(where, `not JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(where, 'must be a JSON object');
    out.push({ v: v as Record<string, unknown>, where });
  });
  return out;
}

async function routeLlmCsv(file: string): Promise<OutcomeRecord[]> {
  let rows: Array<Record<string, string>>;
  try {
    rows = parse(await readFile(file), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
  } catch (e) {
    return bad(file, (e as Error).message);
  }
  if (!rows.length) return [];
  const models = Object.keys(rows[0]!).filter((c) => c !== 'prompt' && !c.endsWith('_response'));
  if (!('prompt' in rows[0]!) || !models.length)
    bad(file, 'expected a "prompt" column and a True/False column per model');
  const task = taskFromEvalName(file.split('/').pop() ?? '');
  return rows.map((r, i) => {
    const where = `${file}:${i + 2}`;
    const outcomes: Record<string, number> = {};
    for (const m of models) {
      const v = (r[m] ?? '').trim().toLowerCase();
      if (v === 'true' || v === '1' || v === '1.0') outcomes[m] = 1;
      else if (v === 'false' || v === '0' || v === '0.0') outcomes[m] = 0;
      else bad(where, `${m}: expected True or False, got ${JSON.stringify(r[m])}`);
    }
    const responses: Record<string, string> = {};
    for (const m of models) if (typeof r[`${m}_response`] === 'string') responses[m] = r[`${m}_response`]!;
    return {
      prompt: r.prompt!,
      task,
      outcomes,
      costs: {},
      ...(Object.keys(responses).length ? { responses } : {}),
      source: where,
    };
  });
}

async function mtBench(dir: string): Promise<OutcomeRecord[]> {
  const questions = new Map<number, { prompt: string; task: string; where: string }>();
  for (const { v, where } of await readJsonl(join(dir, 'question.jsonl'))) {
    const turns = v.turns;
    if (typeof v.question_id !== 'number' || !Array.isArray(turns) || typeof turns[0] !== 'string')
      bad(where, 'expected {question_id: number, category: string, turns: [string, ...]}');
    const category = String(v.category ?? '');
    questions.set(v.question_id as number, {
      prompt: (turns as string[])[0]!,
      task: MT_BENCH_TASKS[category] ?? taskFromEvalName(category),
      where,
    });
  }
  const scores = new Map<number, Map<string, number[]>>();
  for (const { v, where } of await readJsonl(join(dir, 'judgements.jsonl'))) {
    const q = v.question_id as number;
    const score = v.score as number;
    if (!questions.has(q)) bad(where, `question_id ${String(q)} is not in question.jsonl`);
    if (typeof v.model !== 'string' || typeof score !== 'number')
      bad(where, 'expected {question_id, model: string, score: number}');
    if (score < 0) continue; // the judge's "could not parse" marker
    if (!(score >= 1 && score <= 10)) bad(where, `score must be 1..10, got ${score}`);
    const byModel = scores.get(q) ?? new Map<string, number[]>();
    byModel.set(v.model as string, [...(byModel.get(v.model as string) ?? []), score]);
    scores.set(q, byModel);
  }
  const out: OutcomeRecord[] = [];
  for (const [id, q] of questions) {
    const byModel = scores.get(id);
    if (!byModel) continue;
    const outcomes: Record<string, number> = {};
    for (const [m, s] of byModel) outcomes[m] = (s.reduce((a, b) => a + b, 0) / s.length - 1) / 9;
    out.push({ prompt: q.prompt, task: q.task, outcomes, costs: {}, source: q.where });
  }
  return out;
}

/**
 * RouteLLM's evaluation data: the routellm folder (mmlu/, gsm8k/, mt_bench/), one of those
 * folders, or one CSV. Contaminated prompts (contaminated_prompts.jsonl's eval_prompt) are left
 * out unless `includeContaminated`.
 */
export async function loadRouteLLM(
  path: string,
  options: { includeContaminated?: boolean } = {},
): Promise<OutcomeRecord[]> {
  let s;
  try {
    s = await stat(path);
  } catch (e) {
    return bad(path, `cannot read (${(e as NodeJS.ErrnoException).code})`);
  }
  if (!s.isDirectory()) {
    if (!path.endsWith('.csv')) bad(path, 'expected a RouteLLM folder or a .csv file');
    return routeLlmCsv(path);
  }
  const names = (await readdir(path)).sort();
  let out: OutcomeRecord[] = [];
  if (names.includes('question.jsonl') && names.includes('judgements.jsonl')) out.push(...(await mtBench(path)));
  for (const n of names.filter((n) => n.endsWith('.csv'))) out.push(...(await routeLlmCsv(join(path, n))));
  for (const n of names) {
    const sub = join(path, n);
    if ((await stat(sub)).isDirectory()) out.push(...(await loadRouteLLM(sub, options)));
  }
  if (!options.includeContaminated && names.includes('contaminated_prompts.jsonl')) {
    const bad = new Set(
      (await readJsonl(join(path, 'contaminated_prompts.jsonl'))).map(({ v }) =>
        normalizePrompt(String(v.eval_prompt ?? '')),
      ),
    );
    out = out.filter((r) => !bad.has(normalizePrompt(r.prompt)));
  }
  if (!out.length && !names.some((n) => n.endsWith('.csv') || n.endsWith('.jsonl')))
    bad(path, 'no RouteLLM data (CSV files, or question.jsonl + judgements.jsonl)');
  return out;
}
