// Requests: a searchable list of the most recent (by id prefix, model, status), each a link to
// its page.
import { useState } from 'preact/hooks';

import type { RequestQuery, RequestRow } from '../api.js';
import { fmtMs, fmtTime, fmtUsd } from '../format.js';

interface Props {
  rows: RequestRow[];
  models: string[];
  query: RequestQuery;
  onQuery: (q: RequestQuery) => void;
}

export function RequestsPanel({ rows, models, query, onQuery }: Props) {
  const [text, setText] = useState(query.q ?? '');
  return (
    <section id="requests" aria-labelledby="requests-h" class="panel">
      <h2 id="requests-h">Requests</h2>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          onQuery({ ...query, q: text.trim() || undefined });
        }}
      >
        <label>
          Request id
          <input type="search" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Model
          <select
            value={query.model ?? ''}
            onChange={(e) => onQuery({ ...query, model: (e.target as HTMLSelectElement).value || undefined })}
          >
            <option value="">any</option>
            {models.map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select
            value={query.status ?? ''}
            onChange={(e) => onQuery({ ...query, status: (e.target as HTMLSelectElement).value || undefined })}
          >
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="error">error</option>
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      <table>
        <caption class="sr-only">Most recent requests, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Request</th>
            <th scope="col">Kind</th>
            <th scope="col">Task</th>
            <th scope="col">Model</th>
            <th scope="col">Status</th>
            <th scope="col">Latency</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={8}>No requests match.</td>
            </tr>
          ) : (
            rows.map((r) => (
              <tr>
                <td>{fmtTime(r.ts)}</td>
                <td>
                  <a href={`#/requests/${encodeURIComponent(r.id)}`} class="request-link">
                    {r.id}
                  </a>
                </td>
                <td>{r.kind}</td>
                <td>{r.task ?? '–'}</td>
                <td>
                  {r.model ?? '–'}
                  {r.fallbacks.length ? <span class="muted"> (after {r.fallbacks.join(', ')})</span> : null}
                </td>
                <td>{r.status === 'ok' ? 'ok' : <span class="badge bad">{r.code ?? 'error'}</span>}</td>
                <td>{fmtMs(r.latencyMs)}</td>
                <td>{fmtUsd(r.cost)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </section>
  );
}
