// Experiments (arms, estimates with their always-valid intervals, guardrails, the decision) and
// the latest comparison reports.
import type { ComparisonView, ExperimentView } from '../api.js';
import { fmtInt, fmtMs, fmtNum, fmtPct, fmtTime, fmtUsd } from '../format.js';

interface ArmRow {
  id: string;
  target: string;
  requests: number;
  share: number;
  errorRate: number;
  meanCost: number;
  p95LatencyMs: { point: number } | null;
  quality: { mean: number; low: number; high: number } | null;
}
interface ExperimentReport {
  arms: ArmRow[];
  comparisons: Array<{ arm: string; difference: number; low: number; high: number; pAdjusted: number }>;
  guardrails: Array<{ arm: string; breached: string[] }>;
  decision: { state: string; winner?: string; reason: string };
  srm: { mismatch: boolean; p: number };
}

function Experiment({ x }: { x: ExperimentView }) {
  const r = x.report as ExperimentReport | null;
  return (
    <article class="experiment" aria-label={`Experiment ${x.id}`}>
      <h3>
        {x.id}{' '}
        <span class="muted">
          · {x.metric} · {x.state}
        </span>
      </h3>
      {!r ? (
        <p class="empty">No analysis (the experiment needs an outcome store).</p>
      ) : (
        <>
          <p>
            <strong>Decision:</strong> {r.decision.state}
            {r.decision.winner ? ` — ${r.decision.winner}` : ''}. {r.decision.reason}
            {r.srm.mismatch ? ` Sample-ratio mismatch (p = ${r.srm.p.toPrecision(2)}).` : ''}
          </p>
          <table>
            <caption class="sr-only">Arms of {x.id}</caption>
            <thead>
              <tr>
                <th scope="col">Arm</th>
                <th scope="col">Target</th>
                <th scope="col">Requests</th>
                <th scope="col">Quality</th>
                <th scope="col">Error rate</th>
                <th scope="col">Mean cost</th>
                <th scope="col">p95</th>
                <th scope="col">Difference vs control (always-valid interval)</th>
                <th scope="col">Guardrails</th>
              </tr>
            </thead>
            <tbody>
              {r.arms.map((a) => {
                const c = r.comparisons.find((k) => k.arm === a.id);
                const g = r.guardrails.find((k) => k.arm === a.id);
                return (
                  <tr>
                    <th scope="row">{a.id}</th>
                    <td>{a.target}</td>
                    <td>
                      {fmtInt(a.requests)} ({fmtPct(a.share, 0)})
                    </td>
                    <td>
                      {a.quality
                        ? `${fmtNum(a.quality.mean)} [${fmtNum(a.quality.low)}, ${fmtNum(a.quality.high)}]`
                        : '–'}
                    </td>
                    <td>{fmtPct(a.errorRate)}</td>
                    <td>{fmtUsd(a.meanCost)}</td>
                    <td>{fmtMs(a.p95LatencyMs?.point)}</td>
                    <td>
                      {c
                        ? `${fmtNum(c.difference)} [${fmtNum(c.low)}, ${fmtNum(c.high)}], p = ${c.pAdjusted.toPrecision(2)}`
                        : 'control'}
                    </td>
                    <td>{g?.breached.length ? `breached: ${g.breached.join(', ')}` : 'ok'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </article>
  );
}

export function ExperimentsPanel({ experiments }: { experiments: ExperimentView[] }) {
  return (
    <section id="experiments" aria-labelledby="experiments-h" class="panel">
      <h2 id="experiments-h">Experiments</h2>
      {experiments.length === 0 ? (
        <p class="empty">No experiments configured.</p>
      ) : (
        experiments.map((x) => <Experiment x={x} />)
      )}
    </section>
  );
}

export function ComparisonsPanel({ comparisons }: { comparisons: ComparisonView[] }) {
  return (
    <section id="comparisons" aria-labelledby="comparisons-h" class="panel">
      <h2 id="comparisons-h">Comparisons</h2>
      {comparisons.length === 0 ? (
        <p class="empty">
          No comparison reports yet: <code>arbiter compare</code> keeps each one's report in the store.
        </p>
      ) : (
        comparisons.map((c) => (
          <article class="comparison" aria-label={`Comparison ${c.title}`}>
            <h3>
              {c.title}{' '}
              <span class="muted">
                · {fmtTime(c.ts)} UTC · {fmtInt(c.report.cases)} prompts
              </span>
            </h3>
            <p>
              Best overall: <strong>{c.report.recommendations.overall}</strong>; quality:{' '}
              {c.report.recommendations.quality}; cost: {c.report.recommendations.cost}
              {c.report.recommendations.speed ? `; speed: ${c.report.recommendations.speed}` : ''}. Pareto:{' '}
              {c.report.pareto.join(', ')}.
            </p>
            <table>
              <caption class="sr-only">Models compared in {c.title}</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Quality (95% interval)</th>
                  <th scope="col">Errors</th>
                  <th scope="col">p95</th>
                  <th scope="col">Cost / 1k</th>
                  <th scope="col">Overall</th>
                </tr>
              </thead>
              <tbody>
                {c.report.models.map((m) => (
                  <tr>
                    <th scope="row">{m.model}</th>
                    <td>
                      {fmtNum(m.quality.mean)} [{fmtNum(m.quality.low)}, {fmtNum(m.quality.high)}]
                    </td>
                    <td>{fmtPct(m.errorRate)}</td>
                    <td>{fmtMs(m.p95LatencyMs)}</td>
                    <td>{fmtUsd(m.costPer1k)}</td>
                    <td>{fmtNum(m.overall)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </article>
        ))
      )}
    </section>
  );
}
