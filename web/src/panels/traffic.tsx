// Traffic: requests and the router's selections per model over time, fallbacks, errors by code
// and requests by API key.
import type { Overview } from '../api.js';
import { pivot, TimeChart } from '../chart.js';
import { fmtInt, fmtPct, fmtUsd } from '../format.js';

const count = (v: number) => fmtInt(v);

export function TrafficPanel({ o }: { o: Overview }) {
  const requests = pivot(o.steps, o.models, (s) => s.requests);
  const selected = pivot(o.steps, o.models, (s) => s.selected);
  const t = o.totals;
  return (
    <section id="traffic" aria-labelledby="traffic-h" class="panel">
      <h2 id="traffic-h">Traffic</h2>
      <dl class="cards">
        <div>
          <dt>Requests</dt>
          <dd data-metric="requests">{fmtInt(t.requests)}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd>
            {fmtInt(t.errors)} ({t.requests ? fmtPct(t.errors / t.requests) : '–'})
          </dd>
        </div>
        <div>
          <dt>Fallbacks</dt>
          <dd>{fmtInt(t.fallbacks)}</dd>
        </div>
      </dl>
      <div class="grid2">
        <TimeChart
          stepMs={o.stepHours * 3_600_000}
          title="Requests answered per model"
          x={requests.x}
          series={requests.series}
          format={count}
        />
        <TimeChart
          stepMs={o.stepHours * 3_600_000}
          title="Router selections per model"
          x={selected.x}
          series={selected.series}
          format={count}
        />
      </div>
      <div class="grid2">
        <table>
          <caption>Errors by code</caption>
          <thead>
            <tr>
              <th scope="col">Code</th>
              <th scope="col">Model</th>
              <th scope="col">Requests</th>
            </tr>
          </thead>
          <tbody>
            {o.errorsByCode.length === 0 ? (
              <tr>
                <td colSpan={3}>No errors in this range.</td>
              </tr>
            ) : (
              o.errorsByCode.map((e) => (
                <tr>
                  <td>
                    <code>{e.code}</code>
                  </td>
                  <td>{e.model || '–'}</td>
                  <td>{fmtInt(e.n)}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
        <table>
          <caption>By API key</caption>
          <thead>
            <tr>
              <th scope="col">Key id</th>
              <th scope="col">Requests</th>
              <th scope="col">Errors</th>
              <th scope="col">Spend</th>
            </tr>
          </thead>
          <tbody>
            {o.byKey.map((k) => (
              <tr>
                <td>{k.key ? <code>{k.key}</code> : 'no key'}</td>
                <td>{fmtInt(k.requests)}</td>
                <td>{fmtInt(k.errors)}</td>
                <td>{fmtUsd(k.cost)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
