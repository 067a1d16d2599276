/**
 * Backend discovery and choice. Every backend is probed: it must load, and its answer to a short
 * kNN problem on fresh random data must agree with the js reference; the first correct backend
 * in the order cuda, cpu, gpujs, js is chosen (the probe's times are reported, not used: the
 * problem is too small to rank real work). ARBITER_BACKEND=<name> overrides the choice (and fails
 * loudly if that backend is unavailable).
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import { GpuJsBackend } from './gpujs.js';
import { JsBackend } from './js.js';
import { NativeBackend } from './native.js';
import { BACKEND_NAMES, type BackendName, type ComputeBackend } from './types.js';

export interface BackendStatus {
  name: BackendName;
  available: boolean;
  /** Why the backend is unavailable. */
  reason?: string;
  /** Details worth showing: SIMD level and threads, CUDA device, gpu.js mode. */
  detail?: string;
  /** Probe throughput (queries/s on the probe problem) and its median time, when available. */
  probe?: { queriesPerSec: number; medianMs: number };
}

/** The probe problem: small enough to run in tens of milliseconds on the js backend. */
const PROBE = { n: 1024, d: 64, q: 16, k: 8 } as const;

/** Instantiates one backend (no probe). Throws ARB_BACKEND_UNAVAILABLE with the reason. */
export function createBackend(name: BackendName): ComputeBackend {
  switch (name) {
    case 'cuda':
    case 'cpu':
      return NativeBackend.create(name);
    case 'gpujs':
      return GpuJsBackend.create();
    case 'js':
      return new JsBackend();
    default:
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        `unknown backend '${String(name)}'; expected one of ${BACKEND_NAMES.join(', ')}`,
        { param: 'backend' },
      );
  }
}

function detailOf(b: ComputeBackend): string | undefined {
  if (b instanceof NativeBackend) {
    const i = b.info();
    return b.name === 'cuda' ? i.cuda.device : `${i.simd}, ${i.threads} threads`;
  }
  if (b instanceof GpuJsBackend) return `gpu.js mode ${b.mode}`;
  return undefined;
}

function randomNormal(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - Math.random();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * Math.random();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/** Probes one backend: loads it, checks it against the js reference, times it. */
export async function probeBackend(
  name: BackendName,
  reps = 5,
): Promise<{ status: BackendStatus; backend?: ComputeBackend }> {
  let backend: ComputeBackend;
  try {
    backend = createBackend(name);
  } catch (e) {
    return { status: { name, available: false, reason: (e as Error).message } };
  }
  const { n, d, q, k } = PROBE;
  const rows = randomNormal(n * d);
  const queries = randomNormal(q * d);
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  const ref = new JsBackend().createIndex({ dim: d });
  const idx = backend.createIndex({ dim: d });
  try {
    await Promise.all([ref.add(ids, rows), idx.add(ids, rows)]);
    const want = await ref.search(queries, k, 'ip');
    const got = await idx.search(queries, k, 'ip');
    for (let i = 0; i < want.ids.length; i++) {
      if (
        got.ids[i] !== want.ids[i] ||
        Math.abs(got.scores[i]! - want.scores[i]!) > 1e-3 * (1 + Math.abs(want.scores[i]!))
      )
        return { status: { name, available: false, reason: 'probe result disagrees with the js reference' } };
    }
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await idx.search(queries, k, 'ip');
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const medianMs = times[times.length >> 1]!;
    const status: BackendStatus = { name, available: true, probe: { queriesPerSec: (q * 1000) / medianMs, medianMs } };
    const detail = detailOf(backend);
    if (detail) status.detail = detail;
    return { status, backend };
  } catch (e) {
    return { status: { name, available: false, reason: `probe failed: ${(e as Error).message}` } };
  } finally {
    ref.free();
    idx.free();
  }
}

/** Probes every backend, fastest available first, unavailable ones last. */
export async function probeBackends(): Promise<BackendStatus[]> {
  const out: BackendStatus[] = [];
  for (const name of BACKEND_NAMES) out.push((await probeBackend(name)).status);
  return rank(out);
}

function rank(statuses: BackendStatus[]): BackendStatus[] {
  return [...statuses].sort((a, b) => (b.probe?.queriesPerSec ?? -1) - (a.probe?.queriesPerSec ?? -1));
}

export interface Selection {
  backend: ComputeBackend;
  /** How it was chosen. */
  reason: 'env' | 'probe';
  /** The backends probed, in order: those before the chosen one (unavailable, with the reason) and it. */
  statuses: BackendStatus[];
}

let selected: Promise<Selection> | undefined;

/**
 * The backend to use: ARBITER_BACKEND if set, else the first of cuda, cpu, gpujs, js whose probe
 * agreed with the reference. Resolved once per process (pass `refresh` to probe again).
 */
export function selectBackend(options: { refresh?: boolean } = {}): Promise<Selection> {
  if (!selected || options.refresh) {
    const attempt = doSelect();
    selected = attempt;
    attempt.catch(() => {
      if (selected === attempt) selected = undefined; // a failure is not remembered
    });
  }
  return selected;
}

async function doSelect(): Promise<Selection> {
  const forced = process.env.ARBITER_BACKEND?.trim();
  if (forced) {
    if (!(BACKEND_NAMES as readonly string[]).includes(forced))
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        `ARBITER_BACKEND must be one of ${BACKEND_NAMES.join(', ')}, got '${forced}'`,
        { param: 'ARBITER_BACKEND' },
      );
    const { status, backend } = await probeBackend(forced as BackendName);
    if (!backend)
      throw new ArbiterError(
        ErrorCodes.BACKEND_UNAVAILABLE,
        `ARBITER_BACKEND=${forced} is unavailable: ${status.reason}`,
      );
    return { backend, reason: 'env', statuses: [status] };
  }
  // the first correct one in the order cuda, cpu, gpujs, js: the probe is too small to time real
  // work (at 1,024 rows it measures call overhead, and gpu.js or js won it now and then, routing
  // ten times slower); its times are reported, not used — and the backends after the chosen one
  // are not probed (gpu.js alone costs ~150 ms of every start)
  const statuses: BackendStatus[] = [];
  let backend: ComputeBackend | undefined;
  for (const name of BACKEND_NAMES) {
    const r = await probeBackend(name);
    statuses.push(r.status);
    if ((backend = r.backend)) break;
  }
  if (!backend) throw new ArbiterError(ErrorCodes.BACKEND_UNAVAILABLE, 'no compute backend is available');
  return { backend, reason: 'probe', statuses };
}
