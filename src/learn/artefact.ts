/** Writes a trained router model folder (router/artefact.ts reads it and says what is in it). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { AnalysisHead, OodFile } from '../analyze/index.js';
import { sha256, type Embedder, type Manifest } from '../embed/index.js';
import { saveManifold } from '../manifold/index.js';
import type { HeadFile, RouterModelParts } from '../router/index.js';
import type { TrainReport } from './router-types.js';

function headToJson(h: AnalysisHead): HeadFile {
  return {
    tasks: h.tasks,
    inputDim: h.inputDim,
    temperature: h.temperature,
    knnWeight: h.knnWeight,
    weight: Array.from(h.layer.weight),
    bias: Array.from(h.layer.bias ?? []),
  };
}

export async function saveRouterModel(
  dir: string,
  parts: Omit<RouterModelParts, 'ood'> & {
    report: TrainReport;
    embedder: Embedder;
    produced: Record<string, unknown>;
    ood?: { file: OodFile; precision: Float32Array };
  },
): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  const manifold = await saveManifold(parts.manifold, join(dir, 'manifold.arbm'));
  const { graph } = manifold;
  const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);
  const costs = json({ costs: parts.costs, strengths: parts.strengths });
  const head = Buffer.from(`${JSON.stringify(headToJson(parts.head))}\n`);
  const quality = json(parts.calibration);
  const report = json(parts.report);
  const ood = parts.ood ? Buffer.from(`${JSON.stringify(parts.ood.file)}\n`) : undefined;
  const p = parts.ood?.precision;
  const precision = p ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : undefined;
  await writeFile(join(dir, 'costs.json'), costs);
  await writeFile(join(dir, 'head.json'), head);
  await writeFile(join(dir, 'quality.json'), quality);
  await writeFile(join(dir, 'report.json'), report);
  if (ood && precision) {
    await writeFile(join(dir, 'ood.json'), ood);
    await writeFile(join(dir, 'ood.f32'), precision);
  }
  const D = parts.ood?.file.inputDim ?? 0;
  const manifest: Manifest = {
    format: 1,
    name: dir.split('/').filter(Boolean).pop() ?? 'router',
    kind: 'router',
    dim: parts.manifold.dim,
    files: [
      { path: 'manifold.arbm', kind: 'manifold', bytes: manifold.bytes, sha256: manifold.sha256 },
      // a large manifold's search graph: manifold.arbm's header names it with its checksum, which
      // loading checks (streamed: it is not read into memory whole, as the manifest's files are)
      ...(graph ? [{ path: graph.file, kind: 'manifold-graph', bytes: graph.bytes, sha256: graph.sha256 }] : []),
      { path: 'head.json', kind: 'head', dtype: 'json', bytes: head.length, sha256: sha256(head) },
      { path: 'quality.json', kind: 'quality', dtype: 'json', bytes: quality.length, sha256: sha256(quality) },
      { path: 'costs.json', kind: 'costs', dtype: 'json', bytes: costs.length, sha256: sha256(costs) },
      { path: 'report.json', kind: 'report', dtype: 'json', bytes: report.length, sha256: sha256(report) },
      ...(ood && precision
        ? [
            { path: 'ood.json', kind: 'ood', dtype: 'json' as const, bytes: ood.length, sha256: sha256(ood) },
            {
              path: 'ood.f32',
              kind: 'ood-precision',
              dtype: 'f32' as const,
              shape: [D, D],
              bytes: precision.length,
              sha256: sha256(precision),
            },
          ]
        : []),
    ],
    produced: {
      ...parts.produced,
      embedder: { kind: parts.embedder.kind, name: parts.embedder.name, fingerprint: parts.embedder.fingerprint },
    },
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
