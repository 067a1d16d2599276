/**
 * A trained router model folder: manifest.json, manifold.arbm, head.json (the analysis head's
 * layer, temperature and kNN weight), quality.json (per-model capability vectors), costs.json
 * (observed costs and learned priors), report.json, ood.json + ood.f32 (the out-of-distribution
 * test; folders trained before it have none, and route without it), and for a manifold of 50,000
 * points or more its search graph (manifold.arbm.<digest>.hnsw, which the manifold file names). The
 * manifest records the embedder the manifold was built with (its table's checksum): loading it
 * with another embedder is refused, since the points would be in another space. Loading only:
 * learn/artefact.ts writes these folders.
 */

import { join } from 'node:path';

import type { AnalysisHead } from '../analyze/index.js';
import type { ComputeBackend } from '../compute/index.js';
import type { Embedder } from '../embed/index.js';
import { readManifest, readModelFile, type Manifest } from '../embed/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { headInputDim, OodDetector, type OodFile } from '../analyze/index.js';
import { loadManifold, type Manifold } from '../manifold/index.js';
import type { QualityCalibration } from './quality.js';
import type { CostTable } from './types.js';

export interface RouterModelParts {
  manifold: Manifold;
  head: AnalysisHead;
  calibration: QualityCalibration;
  costs: CostTable;
  strengths: Record<string, Record<string, number>>;
  /** Absent in folders trained before the test existed. */
  ood?: OodDetector;
}

export interface HeadFile {
  tasks: string[];
  inputDim: number;
  temperature: number;
  knnWeight: number;
  weight: number[];
  bias: number[];
}

const bad = (dir: string, msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `model ${dir}: ${msg}`, { param: 'model' });
};

function headFromJson(dir: string, j: HeadFile, dim: number): AnalysisHead {
  const T = Array.isArray(j?.tasks) ? j.tasks.length : 0;
  if (!T || !j.tasks.every((t) => typeof t === 'string'))
    bad(dir, 'head.json: tasks must be a non-empty array of strings');
  if (j.inputDim !== headInputDim(dim))
    bad(dir, `head.json: inputDim ${j.inputDim} does not match the embedder (${headInputDim(dim)})`);
  if (
    !Array.isArray(j.weight) ||
    j.weight.length !== 2 * T * j.inputDim ||
    !Array.isArray(j.bias) ||
    j.bias.length !== 2 * T
  )
    bad(dir, `head.json: weight must hold ${2 * T} x ${j.inputDim} values and bias ${2 * T}`);
  if (!(j.temperature > 0) || !(j.knnWeight >= 0 && j.knnWeight <= 1))
    bad(dir, 'head.json: temperature must be > 0 and knnWeight in [0, 1]');
  const weight = Float32Array.from(j.weight);
  const bias = Float32Array.from(j.bias);
  if (![...weight, ...bias].every(Number.isFinite)) bad(dir, 'head.json: non-finite weights');
  return {
    tasks: j.tasks,
    inputDim: j.inputDim,
    temperature: j.temperature,
    knnWeight: j.knnWeight,
    layer: { in: j.inputDim, out: 2 * T, weight, bias, activation: 'none' },
  };
}

/**
 * Loads a router model folder for `embedder` — which may still be loading: the folder's files are
 * read and hashed (on the libuv pool) meanwhile, and checked in the order below once it is there.
 */
export async function loadRouterModel(
  dir: string,
  embedderOrLoading: Embedder | Promise<Embedder>,
  backend: ComputeBackend,
): Promise<RouterModelParts & { manifest: Manifest }> {
  const manifest = await readManifest(dir);
  if (manifest.kind !== 'router')
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `model ${dir}: kind '${manifest.kind}' is not a router model`, {
      param: 'model',
    });
  // every file read and hashed at once, off this thread; awaited below in a fixed order, so the
  // error reported for a folder with several bad files is always the same one (handled now: a bad
  // file cannot become an unhandled rejection if something else fails first)
  const kinds = ['costs', 'head', 'quality', 'manifold'];
  if (manifest.files.some((f) => f.kind === 'ood')) kinds.push('ood', 'ood-precision');
  const reading = new Map(
    kinds.map((kind) => {
      const p = readModelFile(dir, manifest, kind);
      p.catch(() => {});
      return [kind, p] as const;
    }),
  );
  const file = (kind: string) => reading.get(kind)!;
  const embedder = await embedderOrLoading;
  const want = manifest.produced.embedder as { kind?: string; name?: string; fingerprint?: string } | undefined;
  if (want?.fingerprint !== embedder.fingerprint)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `model ${dir} was trained with another embedder (${want?.kind ?? '?'} ${want?.name ?? '?'}, ${String(want?.fingerprint).slice(0, 16)}…), not ${embedder.kind} ${embedder.name}: pass the same embedder`,
      { param: 'model' },
    );
  const { costs, strengths } = JSON.parse((await file('costs')).data.toString('utf8')) as {
    costs: CostTable;
    strengths: Record<string, Record<string, number>>;
  };
  const parse = async <T>(kind: string): Promise<T> => {
    const f = await file(kind);
    try {
      return JSON.parse(f.data.toString('utf8')) as T;
    } catch (e) {
      return bad(dir, `${f.file.path} is not JSON: ${(e as Error).message}`);
    }
  };
  const head = headFromJson(dir, await parse<HeadFile>('head'), embedder.dim);
  const calibration = await parse<QualityCalibration>('quality');
  for (const [m, byTask] of Object.entries(calibration ?? {}))
    for (const [t, cap] of Object.entries(byTask ?? {}))
      if (!Array.isArray(cap) || cap.length !== 3 || !cap.every(Number.isFinite))
        bad(dir, `quality.json: ${m}.${t} must be [a, b, c] (finite numbers)`);
  const ood = manifest.files.some((f) => f.kind === 'ood') ? await loadOod(dir, head, file) : undefined;
  const m = await file('manifold');
  const manifold = await loadManifold(join(dir, m.file.path), backend, { bytes: m.data });
  return { manifold, head, calibration, costs, strengths, manifest, ...(ood ? { ood } : {}) };
}

async function loadOod(
  dir: string,
  head: AnalysisHead,
  file: (kind: string) => ReturnType<typeof readModelFile>,
): Promise<OodDetector> {
  const j = JSON.parse((await file('ood')).data.toString('utf8')) as OodFile;
  const D = head.inputDim;
  const sorted = (v: unknown) =>
    Array.isArray(v) && v.every((x, i) => Number.isFinite(x) && (i === 0 || (x as number) >= (v[i - 1] as number)));
  if (
    j?.inputDim !== D ||
    !Array.isArray(j.means) ||
    !j.means.length ||
    !j.means.every((m) => Array.isArray(m) && m.length === D && m.every(Number.isFinite)) ||
    !sorted(j.distance) ||
    !j.distance.length ||
    !sorted(j.entropy) ||
    !Array.isArray(j.tasks)
  )
    bad(dir, `ood.json: expected inputDim ${D}, means (tasks × ${D}) and ascending finite distance/entropy scores`);
  const raw = (await file('ood-precision')).data;
  if (raw.length !== D * D * 4) bad(dir, `ood.f32 must hold ${D} × ${D} float32 values`);
  const precision = new Float32Array(D * D);
  Buffer.from(precision.buffer).set(raw);
  if (!precision.every(Number.isFinite)) bad(dir, 'ood.f32: non-finite values');
  return new OodDetector(j, precision);
}
