// The dashboard page: asks for the admin key when the gateway wants one, then shows every panel
// and refreshes every REFRESH_MS without reloading; a request's page opens at #/requests/<id>.
// A report file carries its data in the page and never refreshes.
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import {
  AuthError,
  embeddedSnapshot,
  liveSource,
  REFRESH_MS,
  savedKey,
  saveKey,
  snapshotSource,
  type ComparisonView,
  type ExperimentView,
  type Live,
  type Overview,
  type RequestDetail,
  type RequestQuery,
  type RequestRow,
  type Source,
} from './api.js';
import { fmtTime } from './format.js';
import { ComparisonsPanel, ExperimentsPanel } from './panels/experiments.js';
import { CostPanel } from './panels/cost.js';
import { LatencyPanel } from './panels/latency.js';
import { ModelsPanel } from './panels/models.js';
import { QualityPanel } from './panels/quality.js';
import { RequestPage } from './panels/request.js';
import { RequestsPanel } from './panels/requests.js';
import { TrafficPanel } from './panels/traffic.js';
import './style.css';

const RANGES: Array<[string, string]> = [
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
];

interface Data {
  overview: Overview;
  live: Live | null;
  requests: RequestRow[];
  experiments: ExperimentView[];
  comparisons: ComparisonView[];
  at: number;
}

const requestIdFromHash = () => {
  const m = /^#\/requests\/(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]!) : null;
};

function KeyForm({ onKey, failed }: { onKey: (k: string) => void; failed: boolean }) {
  const [k, setK] = useState('');
  return (
    <main class="login">
      <h1>arbiter</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onKey(k.trim());
        }}
      >
        <label for="key">Admin key</label>
        <input
          id="key"
          type="password"
          autoComplete="off"
          value={k}
          onInput={(e) => setK((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Open the dashboard</button>
        {failed && <p role="alert">The gateway refused that key: an admin key is needed.</p>}
        <p class="muted">Kept in this tab's session storage only.</p>
      </form>
    </main>
  );
}

function Dashboard({ source, onAuthFailed }: { source: Source; onAuthFailed: () => void }) {
  const [range, setRange] = useState('24h');
  const [query, setQuery] = useState<RequestQuery>({});
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [openId, setOpenId] = useState<string | null>(requestIdFromHash());
  const [detail, setDetail] = useState<RequestDetail | null | undefined>(null);
  const busy = useRef(false);

  const load = useCallback(async () => {
    if (busy.current) return; // a slow answer is not stacked on: the next tick asks again
    busy.current = true;
    try {
      const [overview, live, requests, experiments, comparisons] = await Promise.all([
        source.overview(range),
        source.live(),
        source.requests(query),
        source.experiments(),
        source.comparisons(),
      ]);
      setData({ overview, live, requests, experiments, comparisons, at: Date.now() });
      setError(null);
    } catch (e) {
      if (e instanceof AuthError) onAuthFailed();
      else setError((e as Error).message);
    } finally {
      busy.current = false;
    }
  }, [source, range, query, onAuthFailed]);

  useEffect(() => {
    void load();
    if (source.static) return;
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load, source.static]);

  useEffect(() => {
    const onHash = () => setOpenId(requestIdFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    if (!openId) return;
    setDetail(null);
    let stale = false;
    source
      .request(openId)
      .then((d) => !stale && setDetail(d))
      .catch((e: unknown) => (e instanceof AuthError ? onAuthFailed() : setDetail(undefined)));
    document.getElementById('request-h')?.focus();
    return () => {
      stale = true;
    };
  }, [openId, source, onAuthFailed]);

  const o = data?.overview;
  return (
    <>
      <header>
        <h1>arbiter</h1>
        <nav aria-label="Panels">
          {['models', 'traffic', 'latency', 'cost', 'quality', 'experiments', 'comparisons', 'requests'].map((id) => (
            <a href={`#${id}`} onClick={() => history.replaceState(null, '', `#${id}`)}>
              {id[0]!.toUpperCase() + id.slice(1)}
            </a>
          ))}
        </nav>
        {!source.static ? (
          <label>
            Range{' '}
            <select value={range} onChange={(e) => setRange((e.target as HTMLSelectElement).value)}>
              {RANGES.map(([v, label]) => (
                <option value={v}>{label}</option>
              ))}
            </select>
          </label>
        ) : (
          o && (
            <span>
              Report: {fmtTime(o.since)} – {fmtTime(o.until)} UTC
            </span>
          )
        )}
        <p class="status" role="status" aria-live="polite">
          {error ? `Could not refresh: ${error}` : data ? `Updated ${fmtTime(data.at)} UTC` : 'Loading…'}
        </p>
      </header>
      <main>
        {openId ? (
          <RequestPage
            r={detail}
            onClose={() => {
              history.pushState(null, '', '#requests');
              setOpenId(null);
            }}
          />
        ) : !data || !o ? (
          <p>Loading…</p>
        ) : (
          <>
            <ModelsPanel live={data.live} />
            <TrafficPanel o={o} />
            <LatencyPanel o={o} />
            <CostPanel o={o} />
            <QualityPanel o={o} />
            <ExperimentsPanel experiments={data.experiments} />
            <ComparisonsPanel comparisons={data.comparisons} />
            <RequestsPanel rows={data.requests} models={o.models} query={query} onQuery={setQuery} />
          </>
        )}
      </main>
    </>
  );
}

function App() {
  const snapshot = embeddedSnapshot();
  const [key, setKey] = useState(savedKey());
  const [failed, setFailed] = useState(false);
  const [source, setSource] = useState<Source | null>(() =>
    snapshot ? snapshotSource(snapshot) : liveSource(savedKey()),
  );
  const onAuthFailed = useCallback(() => {
    setFailed(key !== '');
    saveKey('');
    setSource(null);
  }, [key]);
  if (!source)
    return (
      <KeyForm
        failed={failed}
        onKey={(k) => {
          saveKey(k);
          setKey(k);
          setSource(liveSource(k));
        }}
      />
    );
  return <Dashboard source={source} onAuthFailed={onAuthFailed} />;
}

render(<App />, document.getElementById('app')!);
