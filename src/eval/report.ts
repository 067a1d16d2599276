/**
 * Reports of an evaluation: a Markdown summary and SVG plots (the cost–quality curves with their
 * hulls and every baseline; the reliability diagram of predicted quality), rendered by Vega-Lite
 * and Vega in Node (no browser).
 */
import { renderVegaLite } from '../charts.js';
import { convexHull, type CurvePoint } from './curve.js';

/** The part of an evaluation result the reports read (the engine's EvalResult has this shape). */
export interface ReportInput {
  dataset: string;
  split: { regime: string; train: number; test: number; droppedOverlap: number; costs: string };
  models: string[];
  routers: Array<{ name: string; kind: 'arbiter' | 'baseline'; points: CurvePoint[] }>;
  operatingPoints: Array<{
    target: string;
    param: number;
    quality: number;
    cost: number;
    qualityCi: [number, number];
    diffVsBestCi: [number, number];
    costShareOfBest: number;
  }>;
  metrics: {
    bestSingle: { model: string; quality: number; cost: number };
    oracle: { quality: number; cost: number };
    aiq: Record<string, number>;
    costSavingAt95: Record<string, number | null>;
    oracleGainShare: Record<string, number>;
    pgr: Record<string, { apgr: number; cpt50: number | null; cpt80: number | null }> | null;
    strongWeak: { strong: string; weak: string } | null;
    taskAccuracy: number | null;
    confusion: Record<string, Record<string, number>>;
    calibration: { ece: number; curve: Array<{ bin: number; predicted: number; observed: number; n: number }> };
    withinTaskAuc: Record<string, Record<string, number>>;
    meanWithinTaskAuc: number;
    msPerPrompt: number;
  };
}

const f3 = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(3));
const pct = (x: number | null | undefined) =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(1)}%`;
const usd = (x: number) => `$${x < 1 ? x.toFixed(3) : x.toFixed(2)}`;

const render = renderVegaLite;

/** The cost–quality plot: each router's points and hull, the single models, random and the oracle. */
export async function curveSvg(r: ReportInput): Promise<string> {
  const rows: Array<Record<string, unknown>> = [];
  for (const router of r.routers) {
    const sweep = router.points.length > 1 && router.name !== 'single models';
    const label = (p: CurvePoint) => (sweep ? '' : router.name === 'single models' ? String(p.param) : router.name);
    for (const p of router.points)
      rows.push({
        router: router.name,
        layer: sweep ? 'points' : 'baseline',
        cost: p.cost,
        quality: p.quality,
        label: label(p),
      });
    if (sweep)
      for (const p of convexHull(router.points))
        rows.push({ router: router.name, layer: 'hull', cost: p.cost, quality: p.quality });
  }
  const x = {
    field: 'cost',
    type: 'quantitative',
    scale: { type: 'log' },
    title: `total cost, USD (${r.split.costs})`,
  };
  const y = { field: 'quality', type: 'quantitative', scale: { zero: false }, title: 'quality (mean outcome)' };
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${r.dataset}: cost vs quality on ${r.split.test} held-out prompts`,
    width: 640,
    height: 400,
    config: { legend: { labelLimit: 320 } },
    data: { values: rows },
    layer: [
      {
        transform: [{ filter: "datum.layer === 'hull'" }],
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y, color: { field: 'router', type: 'nominal' }, order: { field: 'cost', type: 'quantitative' } },
      },
      {
        transform: [{ filter: "datum.layer === 'points'" }],
        mark: { type: 'point', size: 30 },
        encoding: { x, y, color: { field: 'router', type: 'nominal' } },
      },
      {
        transform: [{ filter: "datum.layer === 'baseline'" }],
        mark: { type: 'point', shape: 'diamond', filled: true, size: 60, color: 'black' },
        encoding: { x, y },
      },
      {
        transform: [{ filter: "datum.layer === 'baseline'" }],
        mark: { type: 'text', align: 'left', dx: 6, fontSize: 9 },
        encoding: { x, y, text: { field: 'label' } },
      },
    ],
  });
}

/** Reliability diagram: mean predicted quality against the observed mean outcome, per bin. */
export async function reliabilitySvg(r: ReportInput): Promise<string> {
  const rows = r.metrics.calibration.curve;
  const axis = (field: string, title: string) => ({ field, type: 'quantitative', scale: { domain: [0, 1] }, title });
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${r.dataset}: calibration of predicted quality (ECE ${r.metrics.calibration.ece.toFixed(3)})`,
    width: 360,
    height: 360,
    layer: [
      {
        data: {
          values: [
            { predicted: 0, observed: 0 },
            { predicted: 1, observed: 1 },
          ],
        },
        mark: { type: 'line', strokeDash: [4, 4], color: 'gray' },
        encoding: { x: axis('predicted', 'predicted'), y: axis('observed', 'observed') },
      },
      {
        data: { values: rows },
        mark: { type: 'line', point: true },
        encoding: { x: axis('predicted', 'predicted'), y: axis('observed', 'observed') },
      },
      {
        data: { values: rows },
        mark: { type: 'text', dy: -8, fontSize: 9 },
        encoding: { x: axis('predicted', 'predicted'), y: axis('observed', 'observed'), text: { field: 'n' } },
      },
    ],
  });
}

export function markdownReport(r: ReportInput, plots: { curve?: string; reliability?: string } = {}): string {
  const m = r.metrics;
  const lines: string[] = [
    `# arbiter eval: ${r.dataset}`,
    '',
    `Regime: ${r.split.regime}. ${r.split.train.toLocaleString('en-US')} training prompts, ${r.split.test.toLocaleString('en-US')} evaluated` +
      (r.split.droppedOverlap
        ? ` (${r.split.droppedOverlap} test prompts that also occur in the training data left out)`
        : '') +
      `. Costs: ${r.split.costs}.`,
    '',
    `Best single model: ${m.bestSingle.model}, quality ${f3(m.bestSingle.quality)} for ${usd(m.bestSingle.cost)}. Oracle: ${f3(m.oracle.quality)} for ${usd(m.oracle.cost)}.`,
    '',
    '## Operating points (settings chosen on training data only)',
    '',
    "| target | cost weight | quality (95% CI) | − best single (95% CI) | cost | share of best single's cost |",
    '|---|---:|---|---|---:|---:|',
    ...r.operatingPoints.map(
      (p) =>
        `| ${p.target} | ${p.param} | ${f3(p.quality)} (${f3(p.qualityCi[0])}–${f3(p.qualityCi[1])}) | ${f3(p.diffVsBestCi[0])} to ${f3(p.diffVsBestCi[1])} | ${usd(p.cost)} | ${pct(p.costShareOfBest)} |`,
    ),
    '',
    '## Routers',
    '',
    "Read off each router's test curve: the cost saving and the oracle-gain share are what the best setting in hindsight reaches, an optimistic bound; the operating points above are the honest figures.",
    '',
    `| router | AIQ | cost saving at 95% of best | share of the oracle's gain |${m.pgr ? ' APGR | CPT(50%) | CPT(80%) |' : ''}`,
    `|---|---:|---:|---:|${m.pgr ? '---:|---:|---:|' : ''}`,
    ...Object.keys(m.aiq).map(
      (name) =>
        `| ${name} | ${f3(m.aiq[name])} | ${pct(m.costSavingAt95[name])} | ${pct(m.oracleGainShare[name])} |${m.pgr ? ` ${f3(m.pgr[name]?.apgr)} | ${pct(m.pgr[name]?.cpt50)} | ${pct(m.pgr[name]?.cpt80)} |` : ''}`,
    ),
    '',
    ...(m.strongWeak
      ? [
          `Strong/weak pair: ${m.strongWeak.strong} / ${m.strongWeak.weak}; CPT is the share of calls to the strong model.`,
          '',
        ]
      : []),
    '| router | setting | quality | cost |',
    '|---|---|---:|---:|',
    ...r.routers.flatMap((x) => x.points.map((p) => `| ${x.name} | ${p.param} | ${f3(p.quality)} | ${usd(p.cost)} |`)),
    '',
    '## Signal and calibration',
    '',
    `Mean within-task ROC AUC of predicted per-model correctness: ${f3(m.meanWithinTaskAuc)}. Expected calibration error of predicted quality: ${f3(m.calibration.ece)}. Task accuracy: ${m.taskAccuracy === null ? 'no labels' : f3(m.taskAccuracy)}. Routing time: ${m.msPerPrompt.toFixed(3)} ms per prompt (batched).`,
    '',
  ];
  const tasks = [...new Set(Object.values(m.withinTaskAuc).flatMap((x) => Object.keys(x)))].sort();
  lines.push(`| model | ${tasks.join(' | ')} |`, `|---|${tasks.map(() => '---:').join('|')}|`);
  for (const [model, byTask] of Object.entries(m.withinTaskAuc))
    lines.push(`| ${model} | ${tasks.map((t) => f3(byTask[t])).join(' | ')} |`);
  const predictedLabels = [...new Set(Object.values(m.confusion).flatMap((x) => Object.keys(x)))].sort();
  if (predictedLabels.length) {
    lines.push(
      '',
      'Task confusion (rows: label, columns: predicted):',
      '',
      `| | ${predictedLabels.join(' | ')} |`,
      `|---|${predictedLabels.map(() => '---:').join('|')}|`,
    );
    for (const [label, row] of Object.entries(m.confusion))
      lines.push(`| ${label} | ${predictedLabels.map((p) => row[p] ?? 0).join(' | ')} |`);
  }
  if (plots.curve || plots.reliability)
    lines.push(
      '',
      '## Plots',
      '',
      ...(plots.curve ? [`![cost vs quality](${plots.curve})`] : []),
      ...(plots.reliability ? [`![reliability](${plots.reliability})`] : []),
    );
  return `${lines.join('\n')}\n`;
}
