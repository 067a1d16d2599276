// Latency: p50 and p95 per model over time (from the hourly histograms, within 2%), and per model
// over the whole range with time to first token.
import type { Overview } from '../api.js';
import { pivot, TimeChart } from '../chart.js';
import { fmtInt, fmtMs } from '../format.js';

const ms = (v: number) => fmtMs(v);

export function LatencyPanel({ o }: { o: Overview }) {
  const calls = o.latency.filter((l) => l.metric === 'latency');
  const p50 = pivot(calls, o.models, (l) => l.p50);
  const p95 = pivot(calls, o.models, (l) => l.p95);
  const ttft = pivot(
    o.latency.filter((l) => l.metric === 'ttft'),
    o.models,
    (l) => l.p50,
  );
  const whole = (model: string, metric: 'latency' | 'ttft') =>
    o.latencyByModel.find((l) => l.model === model && l.metric === metric);
  const models = o.models.filter((m) => whole(m, 'latency'));
  return (
    <section id="latency" aria-labelledby="latency-h" class="panel">
      <h2 id="latency-h">Latency</h2>
      <div class="grid2">
        <TimeChart
          stepMs={o.stepHours * 3_600_000}
          title="p50 latency per model"
          x={p50.x}
          series={p50.series}
          format={ms}
        />
        <TimeChart
          stepMs={o.stepHours * 3_600_000}
          title="p95 latency per model"
          x={p95.x}
          series={p95.series}
          format={ms}
        />
        <TimeChart
          stepMs={o.stepHours * 3_600_000}
          title="Time to first token (p50, streams) per model"
          x={ttft.x}
          series={ttft.series}
          format={ms}
        />
      </div>
      <table class="per-model">
        <caption>Per model over the range (successful calls)</caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Calls</th>
            <th scope="col">p50</th>
            <th scope="col">p95</th>
            <th scope="col">TTFT p50</th>
            <th scope="col">TTFT p95</th>
          </tr>
        </thead>
        <tbody>
          {models.map((m) => {
            const l = whole(m, 'latency')!;
            const f = whole(m, 'ttft');
            return (
              <tr>
                <th scope="row">{m}</th>
                <td>{fmtInt(l.n)}</td>
                <td>{fmtMs(l.p50)}</td>
                <td>{fmtMs(l.p95)}</td>
                <td>{fmtMs(f?.p50)}</td>
                <td>{fmtMs(f?.p95)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
