// Quality per model × task from feedback and rewards: the mean with its 95% interval, drawn as a
// bar on a 0..1 scale, and the share of traffic rated.
import type { Overview } from '../api.js';
import { fmtInt, fmtNum, fmtPct } from '../format.js';

export function QualityPanel({ o }: { o: Overview }) {
  const rows = o.quality.filter((q) => q.requests > 0 || q.rated > 0);
  return (
    <section id="quality" aria-labelledby="quality-h" class="panel">
      <h2 id="quality-h">Quality</h2>
      <p class="muted">
        {fmtInt(o.totals.rated)} rated of {fmtInt(o.totals.requests)} requests (
        {o.totals.requests ? fmtPct(o.totals.rated / o.totals.requests) : '–'}).
      </p>
      <table>
        <caption class="sr-only">Quality per model and task with 95% intervals</caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Task</th>
            <th scope="col">Requests</th>
            <th scope="col">Rated</th>
            <th scope="col">Quality (95% interval)</th>
            <th scope="col" aria-hidden="true">
              0 … 1
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((q) => (
            <tr>
              <th scope="row">{q.model}</th>
              <td>{q.task === '*' ? 'no task' : q.task}</td>
              <td>{fmtInt(q.requests)}</td>
              <td>
                {fmtInt(q.rated)} ({fmtPct(q.ratedShare, 0)})
              </td>
              <td>
                {q.quality
                  ? `${fmtNum(q.quality.mean)} [${fmtNum(q.quality.low)}, ${fmtNum(q.quality.high)}]`
                  : 'not rated'}
              </td>
              <td aria-hidden="true">
                {q.quality && (
                  <svg class="interval" viewBox="0 0 100 10" width="120" height="12">
                    <rect x="0" y="4" width="100" height="2" fill="#ddd" />
                    <rect
                      x={q.quality.low * 100}
                      y="2"
                      width={Math.max(1, (q.quality.high - q.quality.low) * 100)}
                      height="6"
                      fill="#56B4E9"
                    />
                    <rect x={q.quality.mean * 100 - 1} y="0" width="2" height="10" fill="#0072B2" />
                  </svg>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
