// Models: each one's state now (healthy, cooling down with the time left, half-open, saturated,
// rate limited), calls in flight and queued, and the breaker's latest transitions.
import type { Live } from '../api.js';
import { fmtAgo, fmtInt, fmtMs } from '../format.js';

const STATE_CLASS: Record<string, string> = {
  healthy: 'ok',
  'cooling down': 'bad',
  'half-open': 'warn',
  saturated: 'warn',
  'rate limited': 'warn',
};

export function ModelsPanel({ live }: { live: Live | null }) {
  return (
    <section id="models" aria-labelledby="models-h" class="panel">
      <h2 id="models-h">Models</h2>
      {!live ? (
        <p class="empty">Live state is shown by a running gateway; a report has none.</p>
      ) : (
        <table>
          <caption class="sr-only">Each model's state, load and breaker history</caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">State</th>
              <th scope="col">In flight</th>
              <th scope="col">Queued</th>
              <th scope="col">Breaker history</th>
            </tr>
          </thead>
          <tbody>
            {live.models.map((m) => (
              <tr data-model={m.id}>
                <th scope="row">{m.id}</th>
                <td>
                  <span class={`badge ${STATE_CLASS[m.state] ?? ''}`} data-state={m.state}>
                    {m.state}
                  </span>
                  {m.retryInMs !== undefined && <span class="muted"> · probe in {fmtMs(m.retryInMs)}</span>}
                </td>
                <td>
                  {fmtInt(m.inFlight)} / {fmtInt(m.maxConcurrent)}
                </td>
                <td>{fmtInt(m.queued)}</td>
                <td>
                  {m.history.length === 0
                    ? 'no transitions'
                    : m.history
                        .slice(0, 4)
                        .map((h) => `${h.state} ${fmtAgo(h.at, live.generatedAt)}`)
                        .join(' · ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
