/**
 * A trained router model folder: manifest.json, manifold.arbm, head.json (the analysis head's
 * layer, temperature and kNN weight), quality.json (per-model capability vectors), costs.json
 * (observed costs and learned priors) and report.json. The
 * manifest records the embedder the manifold was built with (its table's checksum): loading it
 * with another embedder is refused, since the points would be in another space.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { AnalysisHead } from '../analyze/index.js';
import type { ComputeBackend } from '../compute/index.js';
import type { Embedder } from '../embed/index.js';
import { readManifest, readModelFile, sha256, type Manifest } from '../embed/manifest.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { headInputDim } from '../analyze/index.js';
import { loadManifold, saveManifold, type Manifold } from '../manifold/index.js';
import type { CostTable, QualityCalibration } from '../router/index.js';
import type { TrainReport } from './train.js';


export interface RouterModelParts {
  manifold: Manifold;
  head: AnalysisHead;
  calibration: QualityCalibration;
  costs: CostTable;
  strengths: Record<string, Record<string, number>>;
}

interface HeadFile {
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

function headToJson(h: AnalysisHead): HeadFile {
  return { tasks: h.tasks, inputDim: h.inputDim, temperature: h.temperature, knnWeight: h.knnWeight, weight: Array.from(h.layer.weight), bias: Array.from(h.layer.bias ?? []) };
}

function headFromJson(dir: string, j: HeadFile, dim: number): AnalysisHead {
  const T = Array.isArray(j?.tasks) ? j.tasks.length : 0;
  if (!T || !j.tasks.every((t) => typeof t === 'string')) bad(dir, 'head.json: tasks must be a non-empty array of strings');
  if (j.inputDim !== headInputDim(dim)) bad(dir, `head.json: inputDim ${j.inputDim} does not match the embedder (${headInputDim(dim)})`);
  if (!Array.isArray(j.weight) || j.weight.length !== 2 * T * j.inputDim || !Array.isArray(j.bias) || j.bias.length !== 2 * T)
    bad(dir, `head.json: weight must hold ${2 * T} x ${j.inputDim} values and bias ${2 * T}`);
  if (!(j.temperature > 0) || !(j.knnWeight >= 0 && j.knnWeight <= 1)) bad(dir, 'head.json: temperature must be > 0 and knnWeight in [0, 1]');
  const weight = Float32Array.from(j.weight);
  const bias = Float32Array.from(j.bias);
  if (![...weight, ...bias].every(Number.isFinite)) bad(dir, 'head.json: non-finite weights');
  return { tasks: j.tasks, inputDim: j.inputDim, temperature: j.temperature, knnWeight: j.knnWeight, layer: { in: j.inputDim, out: 2 * T, weight, bias, activation: 'none' } };
}

export async function saveRouterModel(dir: string, parts: RouterModelParts & { report: TrainReport; embedder: Embedder; produced: Record<string, unknown> }): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  await saveManifold(parts.manifold, join(dir, 'manifold.arbm'));
  const manifoldBytes = await readFile(join(dir, 'manifold.arbm'));
  const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);
  const costs = json({ costs: parts.costs, strengths: parts.strengths });
  const head = Buffer.from(`${JSON.stringify(headToJson(parts.head))}\n`);
  const quality = json(parts.calibration);
  const report = json(parts.report);
  await writeFile(join(dir, 'costs.json'), costs);
  await writeFile(join(dir, 'head.json'), head);
  await writeFile(join(dir, 'quality.json'), quality);
  await writeFile(join(dir, 'report.json'), report);
  const manifest: Manifest = {
    format: 1,
    name: dir.split('/').filter(Boolean).pop() ?? 'router',
    kind: 'router',
    dim: parts.manifold.dim,
    files: [
      { path: 'manifold.arbm', kind: 'manifold', bytes: manifoldBytes.length, sha256: sha256(manifoldBytes) },
      { path: 'head.json', kind: 'head', dtype: 'json', bytes: head.length, sha256: sha256(head) },
      { path: 'quality.json', kind: 'quality', dtype: 'json', bytes: quality.length, sha256: sha256(quality) },
      { path: 'costs.json', kind: 'costs', dtype: 'json', bytes: costs.length, sha256: sha256(costs) },
      { path: 'report.json', kind: 'report', dtype: 'json', bytes: report.length, sha256: sha256(report) },
    ],
    produced: { ...parts.produced, embedder: { kind: parts.embedder.kind, name: parts.embedder.name, fingerprint: parts.embedder.fingerprint } },
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export async function loadRouterModel(dir: string, embedder: Embedder, backend: ComputeBackend): Promise<RouterModelParts & { manifest: Manifest }> {
  const manifest = await readManifest(dir);
  if (manifest.kind !== 'router') throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `model ${dir}: kind '${manifest.kind}' is not a router model`, { param: 'model' });
  const want = manifest.produced.embedder as { kind?: string; name?: string; fingerprint?: string } | undefined;
  if (want?.fingerprint !== embedder.fingerprint)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `model ${dir} was trained with another embedder (${want?.kind ?? '?'} ${want?.name ?? '?'}, ${String(want?.fingerprint).slice(0, 16)}…), not ${embedder.kind} ${embedder.name}: pass the same embedder`,
      { param: 'model' },
    );
  await readModelFile(dir, manifest, 'manifold'); // size and checksum
  const { costs, strengths } = JSON.parse((await readModelFile(dir, manifest, 'costs')).data.toString('utf8')) as { costs: CostTable; strengths: Record<string, Record<string, number>> };
  const parse = async <T>(kind: string): Promise<T> => {
    const f = await readModelFile(dir, manifest, kind);
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
      if (!Array.isArray(cap) || cap.length !== 3 || !cap.every(Number.isFinite)) bad(dir, `quality.json: ${m}.${t} must be [a, b, c] (finite numbers)`);
  const manifold = await loadManifold(join(dir, 'manifold.arbm'), backend);
  return { manifold, head, calibration, costs, strengths, manifest };
}
