// The addon loads and works inside worker threads (per-environment instance data), several at
// once and alongside the main thread, and a worker can be terminated with live native objects.
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { loadAddon } from '../src/compute/addon.js';
import { loadReport } from '../src/compute/index.js';

const addonPath = loadReport().find((a) => a.ok)?.path;

// The worker builds an index of n random rows, searches each row for itself (cosine 1 at rank 0).
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.addonPath);
(async () => {
  const { n, d } = workerData;
  const idx = new addon.Index(d, 'f32', 'cpu');
  const rows = new Float32Array(n * d).map(() => Math.random() * 2 - 1);
  await idx.add(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), rows);
  const res = await idx.search(rows, 1, 'cos');
  let selfHits = 0;
  for (let i = 0; i < n; i++) if (res.ids[i] === BigInt(i)) selfHits++;
  const mlp = new addon.Mlp([{ in: d, out: 2, weight: new Float32Array(2 * d).fill(0.01), activation: 'softmax' }], 'cpu');
  const out = await mlp.forward(rows.subarray(0, d));
  parentPort.postMessage({ selfHits, sum: out[0] + out[1], keepAlive: workerData.keepAlive });
  if (workerData.keepAlive) setInterval(() => {}, 1000);
})().catch((e) => parentPort.postMessage({ error: e.message }));
`;

function runWorker(data: Record<string, unknown>): {
  worker: Worker;
  result: Promise<{ selfHits: number; sum: number; error?: string }>;
} {
  const worker = new Worker(workerSource, { eval: true, workerData: { addonPath, ...data } });
  const result = new Promise<{ selfHits: number; sum: number; error?: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, result };
}

describe.skipIf(!loadAddon())('native addon in worker threads', () => {
  it('works in three workers at once and on the main thread', async () => {
    const runs = [0, 1, 2].map(() => runWorker({ n: 500, d: 32 }));
    const addon = loadAddon()!;
    const idx = new addon.Index(8, 'f32', 'cpu');
    await idx.add(
      BigInt64Array.of(1n, 2n),
      Float32Array.from({ length: 16 }, (_, i) => i + 1),
    );
    const main = await idx.search(Float32Array.of(1, 1, 1, 1, 1, 1, 1, 1), 1, 'ip');
    expect(main.ids[0]).toBe(2n);
    for (const { worker, result } of runs) {
      const r = await result;
      expect(r.error).toBeUndefined();
      expect(r.selfHits).toBe(500);
      expect(r.sum).toBeCloseTo(1, 5);
      await worker.terminate();
    }
  });

  it('terminating a worker that holds native objects leaves the process healthy', async () => {
    const { worker, result } = runWorker({ n: 200, d: 16, keepAlive: true });
    expect((await result).selfHits).toBe(200);
    expect(await worker.terminate()).toBe(1);
    const again = runWorker({ n: 100, d: 16 });
    expect((await again.result).selfHits).toBe(100);
    await again.worker.terminate();
  });
});
