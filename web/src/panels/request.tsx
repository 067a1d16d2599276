// A request's page: its decision with the reason and the alternatives weighed, predicted against
// actual quality, cost and latency, every call with its timings, and its feedback.
import type { RequestDetail } from '../api.js';
import { fmtInt, fmtMs, fmtNum, fmtTime, fmtUsd } from '../format.js';

export function RequestPage({ r, onClose }: { r: RequestDetail | null | undefined; onClose: () => void }) {
  return (
    <section id="request" aria-labelledby="request-h" class="panel">
      <h2 id="request-h" tabIndex={-1}>
        Request {r ? <code>{r.id}</code> : null}
      </h2>
      <button type="button" onClick={onClose}>
        Back to the dashboard
      </button>
      {r === null ? (
        <p>Loading…</p>
      ) : r === undefined ? (
        <p class="empty">No such request is recorded.</p>
      ) : (
        <>
          <p>
            {fmtTime(r.ts)} UTC · {r.kind} · task {r.task ?? '–'} · {r.status === 'ok' ? 'ok' : `error ${r.code}`}
            {r.experiment ? ` · experiment ${r.experiment.id}, arm ${r.experiment.arm}` : ''}
          </p>
          <h3>Decision</h3>
          <p class="decision-reason">
            <strong>{r.decision.model ?? 'no routing decision'}</strong>
            {r.strategy ? ` (${r.strategy})` : ''}: {r.decision.reason ?? 'no reason recorded'}
            {r.decision.confidence !== null ? ` — confidence ${fmtNum(r.decision.confidence, 2)}` : ''}
            {r.decision.taskConfidence !== null ? `, task confidence ${fmtNum(r.decision.taskConfidence, 2)}` : ''}
          </p>
          {r.decision.alternatives.length > 0 && (
            <table>
              <caption>Alternatives weighed, best first</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Predicted quality</th>
                  <th scope="col">Predicted cost</th>
                  <th scope="col">Predicted latency</th>
                  <th scope="col">Score</th>
                  <th scope="col">Eligible</th>
                </tr>
              </thead>
              <tbody>
                {r.decision.alternatives.map((a) => (
                  <tr>
                    <th scope="row">{a.model}</th>
                    <td>{fmtNum(a.quality)}</td>
                    <td>{fmtUsd(a.cost)}</td>
                    <td>{fmtMs(a.latencyMs)}</td>
                    <td>{fmtNum(a.score)}</td>
                    <td>{a.eligible ? 'yes' : `no: ${a.excluded ?? ''}`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <table>
            <caption>Predicted against actual</caption>
            <thead>
              <tr>
                <th scope="col" />
                <th scope="col">Predicted</th>
                <th scope="col">Actual</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">Quality</th>
                <td>{fmtNum(r.predicted.quality)}</td>
                <td>{r.actual.quality === null ? 'not rated' : fmtNum(r.actual.quality)}</td>
              </tr>
              <tr>
                <th scope="row">Cost</th>
                <td>{fmtUsd(r.predicted.cost)}</td>
                <td>{fmtUsd(r.actual.cost)}</td>
              </tr>
              <tr>
                <th scope="row">Latency</th>
                <td>{fmtMs(r.predicted.latencyMs)}</td>
                <td>{fmtMs(r.actual.latencyMs)}</td>
              </tr>
            </tbody>
          </table>
          <table>
            <caption>Calls</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Model</th>
                <th scope="col">Phase</th>
                <th scope="col">Status</th>
                <th scope="col">Latency</th>
                <th scope="col">First token</th>
                <th scope="col">Tokens in / out</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {r.calls.map((c) => (
                <tr>
                  <td>{c.attempt}</td>
                  <td>{c.model}</td>
                  <td>{c.phase ?? '–'}</td>
                  <td>{c.status === 'ok' ? 'ok' : `error ${c.code ?? ''}`}</td>
                  <td>{fmtMs(c.latencyMs)}</td>
                  <td>{fmtMs(c.ttftMs)}</td>
                  <td>
                    {fmtInt(c.promptTokens)} / {fmtInt(c.completionTokens)}
                    {c.estimated ? ' (estimated)' : ''}
                  </td>
                  <td>{fmtUsd(c.cost)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Feedback</h3>
          {r.feedback.length === 0 ? (
            <p class="empty">Not rated.</p>
          ) : (
            <ul>
              {r.feedback.map((f) => (
                <li>
                  {f.source}: {fmtNum(f.score, 2)}
                  {f.comment ? ` — “${f.comment}”` : ''} ({fmtTime(f.ts)} UTC)
                </li>
              ))}
            </ul>
          )}
          {r.prompt !== undefined && (
            <details>
              <summary>Prompt and answer</summary>
              <pre>{r.prompt}</pre>
              <pre>{r.answer ?? ''}</pre>
            </details>
          )}
        </>
      )}
    </section>
  );
}
