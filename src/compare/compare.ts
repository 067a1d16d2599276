/**
 * `compare()`: run 2–10 models on the same prompts through the engine, score every answer, analyse
 * (ranking with intervals, paired significance, strengths, consensus, recommendations, Pareto) and,
 * with `out`, write the reports there — results.jsonl (streamed, resumable), report.json,
 * report.md, win-matrix.svg, pareto.svg and report.html.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Arbiter } from '../engine/index.js';
import { COMPARISON_REPORT } from '../store/index.js';
import { analyzeComparison, DEFAULT_WEIGHTS } from './analyze.js';
import { checkJudge, checkModels } from './input.js';
import { compareHtml, compareMarkdown, paretoSvg, winMatrixSvg } from './report.js';
import { runComparison, type RunOptions } from './run.js';
import type { CallResult, CompareCase, CompareReport, Judgment, ScoreWeights } from './types.js';

export interface CompareOptions extends RunOptions {
  weights?: ScoreWeights;
  maxModels?: number;
  alpha?: number;
}

export async function compare(
  engine: Arbiter,
  cases: readonly CompareCase[],
  o: CompareOptions,
): Promise<{ report: CompareReport; results: CallResult[] }> {
  const models = checkModels(o.models, engine.router.registry.ids(), o.maxModels);
  if (o.judge !== undefined) checkJudge(o.judge, engine.router.registry.ids());
  const judgments: Judgment[] = [];
  const results = await runComparison(engine, cases, { ...o, models, judgments });
  const report = analyzeComparison(cases, models, results, o.weights ?? DEFAULT_WEIGHTS, o.alpha, judgments);
  if (o.out) await writeReports(o.out, report);
  await keepReport(engine, report);
  return { report, results };
}

/** Keeps the report in the outcome store (when there is one): the dashboard shows the latest. */
export async function keepReport(
  engine: Pick<Arbiter, 'store'>,
  report: CompareReport,
  now = Date.now(),
): Promise<void> {
  if (!engine.store) return;
  const models = report.models.map((m) => m.model);
  await engine.store.sql.views.addReport({
    id: `${now.toString(36)}-${models.join('-')}`.slice(0, 200),
    ts: now,
    kind: COMPARISON_REPORT,
    title: `${models.join(' vs ')}`,
    body: JSON.stringify(report),
  });
}

/** The reports of an analysis, in `dir`. */
export async function writeReports(dir: string, report: CompareReport): Promise<string[]> {
  const charts = { matrix: await winMatrixSvg(report), pareto: await paretoSvg(report) };
  const files: Array<[string, string]> = [
    ['report.json', `${JSON.stringify(report, null, 2)}\n`],
    ['report.md', compareMarkdown(report, { matrix: 'win-matrix.svg', pareto: 'pareto.svg' })],
    ['win-matrix.svg', charts.matrix],
    ['pareto.svg', charts.pareto],
    ['report.html', compareHtml(report, charts)],
  ];
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}
