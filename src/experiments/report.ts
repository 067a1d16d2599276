/**
 * An experiment's report: Markdown (arms, comparisons, sample ratio, guardrails, decision) and an
 * SVG of each challenger's difference from the control on the primary metric over time, with its
 * always-valid confidence-sequence band — the analysis recomputed on the data as it stood at the
 * end of each hour (vega-lite, rendered in Node).
 */
import { renderVegaLite } from '../charts.js';
import type { ExperimentSettings } from '../config/index.js';
import type { ExperimentArmRow } from '../store/index.js';
import { analyzeExperiment, emptyArm, type ExperimentReport } from './analyze.js';

/** Each challenger's difference and interval at the end of every hour with data. */
export function seriesOverTime(
  x: ExperimentSettings,
  hours: ReadonlyArray<ExperimentArmRow & { hour: number }>,
): Array<{ time: string; arm: string; difference: number; low: number; high: number }> {
  const totals = new Map<string, ExperimentArmRow>();
  const out: Array<{ time: string; arm: string; difference: number; low: number; high: number }> = [];
  const byHour = new Map<number, Array<ExperimentArmRow & { hour: number }>>();
  for (const r of hours) byHour.set(r.hour, [...(byHour.get(r.hour) ?? []), r]);
  for (const [hour, rows] of [...byHour].sort((a, b) => a[0] - b[0])) {
    for (const r of rows) {
      const t = totals.get(r.arm) ?? emptyArm(r.arm);
      for (const k of ['n', 'errors', 'cost', 'costSq', 'latency', 'latencySq', 'rated', 'score', 'scoreSq'] as const)
        t[k] += r[k];
      totals.set(r.arm, t);
    }
    const a = analyzeExperiment(x, [...totals.values()]);
    for (const c of a.comparisons)
      if (Number.isFinite(c.low) && Number.isFinite(c.high))
        out.push({
          time: new Date(hour + 3_600_000).toISOString(),
          arm: c.arm,
          difference: c.difference,
          low: c.low,
          high: c.high,
        });
  }
  return out;
}

/** The SVG: the difference from the control over time, with its always-valid band, one colour per challenger. */
export async function reportSvg(x: ExperimentSettings, series: ReturnType<typeof seriesOverTime>): Promise<string> {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 560,
    height: 260,
    title: `${x.id}: ${x.metric}, challenger − ${x.arms[0]!.id}, with the always-valid ${Math.round(100 * (1 - x.alpha))}% band`,
    data: { values: series },
    encoding: {
      x: { field: 'time', type: 'temporal', title: 'time' },
      color: { field: 'arm', type: 'nominal', title: 'arm' },
    },
    layer: [
      {
        mark: { type: 'area', opacity: 0.2 },
        encoding: { y: { field: 'low', type: 'quantitative', title: `Δ ${x.metric}` }, y2: { field: 'high' } },
      },
      { mark: { type: 'line', point: true }, encoding: { y: { field: 'difference', type: 'quantitative' } } },
      {
        mark: { type: 'rule', strokeDash: [4, 4] },
        data: { values: [{ zero: 0 }] },
        encoding: { y: { field: 'zero', type: 'quantitative' }, color: { value: 'gray' } },
      },
    ],
  };
  return renderVegaLite(spec);
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** The Markdown: what the analysis says now, with the SVG beside it. */
export function reportMarkdown(
  r: ExperimentReport & { status: { state: string; arm?: string; reason?: string } },
  svgFile: string,
): string {
  const rows = r.arms.map(
    (a) =>
      `| ${a.id} | ${a.target} | ${a.requests} | ${pct(a.share)} | ${pct(a.errorRate)} | ${a.meanCost.toPrecision(3)} | ${a.meanLatencyMs.toFixed(0)} | ${a.rated} (${pct(a.ratedShare)}) | ${a.quality ? `${a.quality.mean.toFixed(3)} [${a.quality.low.toFixed(3)}, ${a.quality.high.toFixed(3)}]` : '–'} |`,
  );
  const comparisons = r.comparisons.map(
    (c) =>
      `| ${c.arm} | ${c.difference.toFixed(4)} | [${c.low.toFixed(4)}, ${c.high.toFixed(4)}] | ${c.p.toPrecision(2)} | ${c.pAdjusted.toPrecision(2)} | ${c.pFixed.toPrecision(2)} |`,
  );
  return [
    `# Experiment ${r.id}`,
    '',
    `State: **${r.status.state}**${r.status.arm ? ` (${r.status.arm})` : ''}${r.status.reason ? ` — ${r.status.reason}` : ''}. Analysis now: ${r.decision.state} — ${r.decision.reason}.`,
    '',
    '| arm | target | requests | share | errors | mean cost | mean latency ms | rated | quality (95%) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
    `Primary metric **${r.metric}**, each challenger against the control: always-valid interval and p-value (mixture SPRT; Holm across challengers), the fixed-horizon Welch p for reference.`,
    '',
    '| arm | difference | always-valid interval | p | p (Holm) | p (fixed horizon) |',
    '|---|---:|---|---:|---:|---:|',
    ...comparisons,
    '',
    `Sample ratio: χ² ${r.srm.chi2.toFixed(2)}, p ${r.srm.p.toPrecision(2)}${r.srm.mismatch ? ' — **mismatch**: assignment is broken' : ''}. Guardrails: ${r.guardrails.map((g) => `${g.arm} ${g.breached.length ? g.breached.join('; ') : 'ok'}`).join(', ') || '–'}.`,
    '',
    `![${r.metric} over time](${svgFile})`,
    '',
  ].join('\n');
}
