/**
 * A trained router model folder: manifest.json, manifold.arbm, costs.json and report.json. The
 * manifest records the embedder the manifold was built with (its table's checksum): loading it
 * with another embedder is refused, since the points would be in another space.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { ComputeBackend } from '../compute/index.js';
import type { StaticEmbedder } from '../embed/index.js';
import { readManifest, readModelFile, sha256, type Manifest } from '../embed/manifest.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { loadManifold, saveManifold, type Manifold } from '../manifold/index.js';
import type { CostTable } from '../router/index.js';
import type { TrainReport } from './train.js';

const tableSum = (e: StaticEmbedder) => e.manifest.files.find((f) => f.kind === 'table')?.sha256 ?? '';

export async function saveRouterModel(dir: string, parts: { manifold: Manifold; costs: CostTable; strengths: Record<string, Record<string, number>>; report: TrainReport; embedder: StaticEmbedder; produced: Record<string, unknown> }): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  await saveManifold(parts.manifold, join(dir, 'manifold.arbm'));
  const manifoldBytes = await readFile(join(dir, 'manifold.arbm'));
  const costs = Buffer.from(`${JSON.stringify({ costs: parts.costs, strengths: parts.strengths }, null, 2)}\n`);
  const report = Buffer.from(`${JSON.stringify(parts.report, null, 2)}\n`);
  await writeFile(join(dir, 'costs.json'), costs);
  await writeFile(join(dir, 'report.json'), report);
  const manifest: Manifest = {
    format: 1,
    name: dir.split('/').filter(Boolean).pop() ?? 'router',
    kind: 'router',
    dim: parts.manifold.dim,
    files: [
      { path: 'manifold.arbm', kind: 'manifold', bytes: manifoldBytes.length, sha256: sha256(manifoldBytes) },
      { path: 'costs.json', kind: 'costs', dtype: 'json', bytes: costs.length, sha256: sha256(costs) },
      { path: 'report.json', kind: 'report', dtype: 'json', bytes: report.length, sha256: sha256(report) },
    ],
    produced: { ...parts.produced, embedder: { name: parts.embedder.manifest.name, tableSha256: tableSum(parts.embedder) } },
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export async function loadRouterModel(dir: string, embedder: StaticEmbedder, backend: ComputeBackend): Promise<{ manifold: Manifold; costs: CostTable; strengths: Record<string, Record<string, number>>; manifest: Manifest }> {
  const manifest = await readManifest(dir);
  if (manifest.kind !== 'router') throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `model ${dir}: kind '${manifest.kind}' is not a router model`, { param: 'model' });
  const want = (manifest.produced.embedder as { tableSha256?: string } | undefined)?.tableSha256;
  if (want !== tableSum(embedder))
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `model ${dir} was trained with another embedder (table ${String(want).slice(0, 12)}…), not ${embedder.manifest.name}`, { param: 'model' });
  await readModelFile(dir, manifest, 'manifold'); // size and checksum
  const { costs, strengths } = JSON.parse((await readModelFile(dir, manifest, 'costs')).data.toString('utf8')) as { costs: CostTable; strengths: Record<string, Record<string, number>> };
  const manifold = await loadManifold(join(dir, 'manifold.arbm'), backend);
  return { manifold, costs, strengths, manifest };
}
