// Cost and tokens: spend per model over time, per task and per key, and what always using the
// strongest model would have cost for the same tokens.
import type { Overview, Spend } from '../api.js';
import { pivot, TimeChart } from '../chart.js';
import { fmtInt, fmtUsd } from '../format.js';

const usd = (v: number) => fmtUsd(v);

function SpendTable({ caption, rows, label }: { caption: string; rows: Spend[]; label: (k: string) => string }) {
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{caption.replace(/^Spend per /, '').replace(/^./, (c) => c.toUpperCase())}</th>
          <th scope="col">Requests</th>
          <th scope="col">Tokens</th>
          <th scope="col">Spend</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr>
            <td>{label(r.key)}</td>
            <td>{fmtInt(r.requests)}</td>
            <td>{fmtInt(r.tokens)}</td>
            <td>{fmtUsd(r.cost)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function CostPanel({ o }: { o: Overview }) {
  const spend = pivot(o.steps, o.models, (s) => s.cost);
  const tokens = pivot(o.steps, o.models, (s) => s.tokens);
  // per task: every task; per key: the six that spent most, the rest as one series
  const taskName = (v: string) => (v === '*' ? 'no task' : v);
  const keyName = (v: string) => v || 'no key';
  const perTask = pivot(
    o.taskSteps,
    o.byTask.map((r) => taskName(r.key)),
    (r) => r.cost,
    (r) => taskName(r.value),
  );
  const perKey = pivot(
    o.keySteps,
    o.byKey.slice(0, 6).map((r) => keyName(r.key)),
    (r) => r.cost,
    (r) => keyName(r.value),
    'other keys',
  );
  const t = o.totals;
  return (
    <section id="cost" aria-labelledby="cost-h" class="panel">
      <h2 id="cost-h">Cost and tokens</h2>
      <dl class="cards">
        <div>
          <dt>Spend</dt>
          <dd data-metric="spend">{fmtUsd(t.cost)}</dd>
        </div>
        <div>
          <dt>Tokens</dt>
          <dd>{fmtInt(t.tokens)}</dd>
        </div>
        <div>
          <dt>Always {t.strongest ?? 'the strongest model'}</dt>
          <dd>{fmtUsd(t.strongestCost)}</dd>
        </div>
        <div>
          <dt>Saved</dt>
          <dd data-metric="saved">
            {fmtUsd(t.saved)}
            {t.strongestCost > 0 ? ` (${((t.saved / t.strongestCost) * 100).toFixed(0)}%)` : ''}
          </dd>
        </div>
      </dl>
      <div class="grid2">
        <TimeChart
          stepMs={o.stepHours * 3_600_000}
          title="Spend per model"
          x={spend.x}
          series={spend.series}
          format={usd}
        />
        <TimeChart
          stepMs={o.stepHours * 3_600_000}
          title="Tokens per model"
          x={tokens.x}
          series={tokens.series}
          format={(v) => fmtInt(v)}
        />
      </div>
      <div class="grid2">
        <TimeChart
          stepMs={o.stepHours * 3_600_000}
          title="Spend per task"
          x={perTask.x}
          series={perTask.series}
          format={usd}
        />
        <TimeChart
          stepMs={o.stepHours * 3_600_000}
          title="Spend per key"
          x={perKey.x}
          series={perKey.series}
          format={usd}
        />
      </div>
      <div class="grid2">
        <SpendTable caption="Spend per task" rows={o.byTask} label={(k) => (k === '*' ? 'no task' : k)} />
        <SpendTable caption="Spend per key" rows={o.byKey} label={(k) => k || 'no key'} />
      </div>
    </section>
  );
}
