/**
 * A comparison's reports: a terminal table, Markdown, two SVG charts (the win matrix as a heatmap,
 * quality against dollars per 1,000 requests with the Pareto front; vega-lite, rendered in Node,
 * colour-blind-safe palettes) and one self-contained HTML page with both charts inline.
 */
import { renderVegaLite } from '../charts.js';
import Table from 'cli-table3';

import type { CompareReport } from './types.js';

const f3 = (x: number) => x.toFixed(3);
const ms = (x: number | null) => (x === null ? '–' : x.toFixed(0));

/** The terminal table (no colour: it is read in logs as often as on terminals). */
export function compareTable(r: CompareReport): string {
  const t = new Table({
    head: ['model', 'overall', 'quality (95%)', 'BT strength (95%)', 'p50 ms', 'p95 ms', '$ / 1k req', 'errors'],
    style: { head: [], border: [] },
  });
  for (const m of [...r.models].sort((a, b) => b.overall - a.overall))
    t.push([
      m.model,
      f3(m.overall),
      `${f3(m.quality.mean)} [${f3(m.quality.low)}, ${f3(m.quality.high)}]`,
      `${m.strength.value.toFixed(2)} [${m.strength.low.toFixed(2)}, ${m.strength.high.toFixed(2)}]`,
      ms(m.p50LatencyMs),
      ms(m.p95LatencyMs),
      m.costPer1k.toPrecision(3),
      `${m.errors}/${m.calls}`,
    ]);
  const rec = r.recommendations;
  return `${t.toString()}\nbest overall ${rec.overall}; for quality ${rec.quality}; for speed ${rec.speed ?? '–'}; for cost ${rec.cost}; Pareto front: ${r.pareto.join(', ')}\n`;
}

export function compareMarkdown(r: CompareReport, charts: { matrix: string; pareto: string }): string {
  const w = r.weights;
  const models = [...r.models].sort((a, b) => b.overall - a.overall);
  const pairs = r.pairs.map(
    (p) =>
      `| ${p.a} | ${p.b} | ${p.n} | ${p.winsA} / ${p.winsB} / ${p.ties} | ${f3(p.winRate)} [${f3(p.low)}, ${f3(p.high)}] | ${p.test} | ${p.p.toPrecision(2)} | ${p.pAdjusted.toPrecision(2)} | ${p.significant ? '**yes**' : 'no'} |`,
  );
  const sw = r.strengths.map(
    (s) =>
      `- ${s.model}: ${s.kind} on ${s.task} (${s.difference > 0 ? '+' : ''}${f3(s.difference)} vs the others, p ${s.p.toPrecision(2)} Holm)`,
  );
  return [
    `# Model comparison (${r.cases} prompts, ${r.models.length} models)`,
    '',
    `Overall = ${w.quality}·quality + ${w.performance}·performance (best p95 ÷ this p95) + ${w.cost}·cost efficiency (cheapest ÷ this), over the components present.`,
    '',
    '| model | overall | quality (95%) | Bradley–Terry (95%) | p50 ms | p95 ms | $ / 1k requests | errors |',
    '|---|---:|---|---|---:|---:|---:|---:|',
    ...models.map(
      (m) =>
        `| ${m.model} | ${f3(m.overall)} | ${f3(m.quality.mean)} [${f3(m.quality.low)}, ${f3(m.quality.high)}] | ${m.strength.value.toFixed(2)} [${m.strength.low.toFixed(2)}, ${m.strength.high.toFixed(2)}] | ${ms(m.p50LatencyMs)} | ${ms(m.p95LatencyMs)} | ${m.costPer1k.toPrecision(3)} | ${m.errors}/${m.calls} |`,
    ),
    '',
    `**Recommendations.** Best overall: **${r.recommendations.overall}**; for quality: **${r.recommendations.quality}**; for speed: **${r.recommendations.speed ?? '–'}**; for cost: **${r.recommendations.cost}**. Pareto front (quality × $/1k × p95): ${r.pareto.join(', ')}.`,
    '',
    `## Pairs (Holm-adjusted over ${r.pairs.length} pairs, α = ${r.alpha})`,
    '',
    '| A | B | prompts | A wins / B wins / ties | A win rate (Wilson 95%) | test | p | p (Holm) | significant |',
    '|---|---|---:|---|---|---|---:|---:|---|',
    ...pairs,
    '',
    '## Strengths and weaknesses (significant only)',
    '',
    ...(sw.length ? sw : ['None significant.']),
    '',
    `## Consensus: ${r.consensus.agree} prompts where every model scored the same, ${r.consensus.split} where they split`,
    '',
    ...r.consensus.examples.map(
      (e) =>
        `- ${e.case}: ${Object.entries(e.qualities)
          .map(([m, q]) => `${m} ${Number.isNaN(q) ? '–' : f3(q)}`)
          .join(', ')}`,
    ),
    '',
    `![win matrix](${charts.matrix})`,
    '',
    `![quality against cost](${charts.pareto})`,
    '',
  ].join('\n');
}

const render = renderVegaLite;

/** The win matrix: row model's win rate over the column model (ties half), a diverging colour-blind-safe scale. */
export function winMatrixSvg(r: CompareReport): Promise<string> {
  const cells = r.pairs.flatMap((p) => [
    { row: p.a, col: p.b, rate: p.winRate, label: `${(100 * p.winRate).toFixed(0)}%${p.significant ? '*' : ''}` },
    {
      row: p.b,
      col: p.a,
      rate: 1 - p.winRate,
      label: `${(100 * (1 - p.winRate)).toFixed(0)}%${p.significant ? '*' : ''}`,
    },
  ]);
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Win rate of the row model over the column model (* significant, Holm)',
    data: { values: cells },
    width: 40 * r.models.length + 80,
    height: 30 * r.models.length + 40,
    encoding: { x: { field: 'col', type: 'nominal', title: null }, y: { field: 'row', type: 'nominal', title: null } },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: {
            field: 'rate',
            type: 'quantitative',
            scale: { scheme: 'blueorange', domain: [0, 1] },
            title: 'win rate',
          },
        },
      },
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'label' } } },
    ],
  });
}

/** Quality against dollars per 1,000 requests, the Pareto front marked. */
export function paretoSvg(r: CompareReport): Promise<string> {
  const front = new Set(r.pareto);
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Quality against cost (filled: on the Pareto front)',
    data: {
      values: r.models.map((m) => ({
        model: m.model,
        quality: m.quality.mean,
        cost: m.costPer1k,
        front: front.has(m.model),
      })),
    },
    width: 420,
    height: 260,
    layer: [
      {
        mark: { type: 'point', size: 80 },
        encoding: {
          x: { field: 'cost', type: 'quantitative', title: '$ per 1,000 requests' },
          y: { field: 'quality', type: 'quantitative', title: 'quality', scale: { zero: false } },
          shape: { field: 'front', type: 'nominal', title: 'Pareto' },
          color: { field: 'front', type: 'nominal', scale: { range: ['#0072B2', '#E69F00'] }, title: 'Pareto' },
          fill: { field: 'front', type: 'nominal', scale: { range: ['transparent', '#E69F00'] }, legend: null },
        },
      },
      {
        mark: { type: 'text', dx: 6, align: 'left', fontSize: 10 },
        encoding: {
          x: { field: 'cost', type: 'quantitative' },
          y: { field: 'quality', type: 'quantitative' },
          text: { field: 'model' },
        },
      },
    ],
  });
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One page a user can open or share: the tables and both charts inline, nothing fetched. */
export function compareHtml(r: CompareReport, charts: { matrix: string; pareto: string }): string {
  const rows = [...r.models]
    .sort((a, b) => b.overall - a.overall)
    .map(
      (m) =>
        `<tr><th scope="row">${escapeHtml(m.model)}</th><td>${f3(m.overall)}</td><td>${f3(m.quality.mean)} [${f3(m.quality.low)}, ${f3(m.quality.high)}]</td><td>${ms(m.p95LatencyMs)}</td><td>${m.costPer1k.toPrecision(3)}</td><td>${m.errors}/${m.calls}</td></tr>`,
    );
  const pairs = r.pairs.map(
    (p) =>
      `<tr><td>${escapeHtml(p.a)}</td><td>${escapeHtml(p.b)}</td><td>${p.winsA} / ${p.winsB} / ${p.ties}</td><td>${f3(p.winRate)} [${f3(p.low)}, ${f3(p.high)}]</td><td>${p.pAdjusted.toPrecision(2)}</td><td>${p.significant ? 'yes' : 'no'}</td></tr>`,
  );
  const rec = r.recommendations;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model comparison</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #999;padding:.3rem .6rem;text-align:right}th[scope=row],td:first-child{text-align:left}</style>
</head><body>
<h1>Model comparison: ${r.cases} prompts, ${r.models.length} models</h1>
<p>Best overall <strong>${escapeHtml(rec.overall)}</strong>; for quality <strong>${escapeHtml(rec.quality)}</strong>; for speed <strong>${escapeHtml(rec.speed ?? '–')}</strong>; for cost <strong>${escapeHtml(rec.cost)}</strong>. Pareto front: ${r.pareto.map(escapeHtml).join(', ')}.</p>
<table><caption>Models (overall = ${r.weights.quality}·quality + ${r.weights.performance}·performance + ${r.weights.cost}·cost efficiency)</caption>
<thead><tr><th scope="col">model</th><th scope="col">overall</th><th scope="col">quality (95%)</th><th scope="col">p95 ms</th><th scope="col">$ / 1k requests</th><th scope="col">errors</th></tr></thead>
<tbody>${rows.join('')}</tbody></table>
<table><caption>Pairs (Holm-adjusted, α = ${r.alpha})</caption>
<thead><tr><th scope="col">A</th><th scope="col">B</th><th scope="col">A / B / ties</th><th scope="col">A win rate (95%)</th><th scope="col">p (Holm)</th><th scope="col">significant</th></tr></thead>
<tbody>${pairs.join('')}</tbody></table>
<figure role="img" aria-label="win matrix">${charts.matrix}</figure>
<figure role="img" aria-label="quality against cost">${charts.pareto}</figure>
</body></html>
`;
}
