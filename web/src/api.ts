// Where the page's data comes from: the gateway's /dashboard/api (with the admin key, kept in
// session storage only), or a snapshot embedded in a report file (`arbiter report`).
import type {
  ComparisonView,
  ExperimentView,
  Live,
  Overview,
  RequestDetail,
  RequestRow,
  Snapshot,
} from '../../src/server/dashboard/types.js';

export type * from '../../src/server/dashboard/types.js';

/** How often the page asks for fresh data: well within the 5 s an operator should wait. */
export const REFRESH_MS = 2000;

export interface RequestQuery {
  q?: string;
  model?: string;
  status?: string;
}

export interface Source {
  /** A report file: no key, no refresh, no range choice. */
  readonly static: boolean;
  overview(range: string): Promise<Overview>;
  live(): Promise<Live | null>;
  requests(query: RequestQuery): Promise<RequestRow[]>;
  request(id: string): Promise<RequestDetail | undefined>;
  experiments(): Promise<ExperimentView[]>;
  comparisons(): Promise<ComparisonView[]>;
}

/** The gateway refused the key (or none was given). */
export class AuthError extends Error {}

const KEY = 'arbiter.adminKey';
export const savedKey = () => sessionStorage.getItem(KEY) ?? '';
export const saveKey = (k: string) => (k ? sessionStorage.setItem(KEY, k) : sessionStorage.removeItem(KEY));

async function get<T>(path: string, key: string): Promise<T> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 10_000);
  try {
    const r = await fetch(`api/${path}`, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
      signal: ctl.signal,
    });
    if (r.status === 401 || r.status === 403) throw new AuthError('the gateway wants an admin key');
    const body = (await r.json()) as T & { error?: { message: string } };
    if (!r.ok) throw new Error(body.error?.message ?? `HTTP ${r.status}`);
    return body;
  } finally {
    clearTimeout(timer);
  }
}

export function liveSource(key: string): Source {
  const qs = (o: Record<string, string | undefined>) =>
    new URLSearchParams(Object.entries(o).filter((e): e is [string, string] => !!e[1])).toString();
  return {
    static: false,
    overview: (range) => get(`overview?${qs({ range })}`, key),
    live: () => get('live', key),
    requests: (q) => get<{ data: RequestRow[] }>(`requests?${qs({ ...q })}`, key).then((r) => r.data),
    request: (id) =>
      get<RequestDetail>(`requests/${encodeURIComponent(id)}`, key).catch((e: unknown) => {
        if (e instanceof AuthError) throw e;
        return undefined;
      }),
    experiments: () => get<{ data: ExperimentView[] }>('experiments', key).then((r) => r.data),
    comparisons: () => get<{ data: ComparisonView[] }>('comparisons', key).then((r) => r.data),
  };
}

/** The snapshot a report embeds (a JSON script element), or undefined on the live page. */
export function embeddedSnapshot(): Snapshot | undefined {
  const el = document.getElementById('arbiter-snapshot');
  return el?.textContent ? (JSON.parse(el.textContent) as Snapshot) : undefined;
}

export function snapshotSource(s: Snapshot): Source {
  return {
    static: true,
    overview: async () => s.overview,
    live: async () => s.live,
    requests: async (q) =>
      s.requests.filter(
        (r) =>
          (!q.q || r.id.startsWith(q.q)) && (!q.model || r.model === q.model) && (!q.status || r.status === q.status),
      ),
    request: async (id) => s.details[id],
    experiments: async () => s.experiments,
    comparisons: async () => s.comparisons,
  };
}
