/**
 * The machine's measured ceilings, so kernel figures can be quoted as a fraction of them:
 * - sgemm: onnxruntime's MatMul (MLAS, hand-tuned assembly) on a large square product;
 * - memory bandwidth: a copy by one worker per core, counting bytes read + bytes written.
 */
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';

import ort from 'onnxruntime-node';

import { medianMs, randomNormal, type ResultRow } from './common.js';
import { cpuSession } from './onnx.js';

export async function sgemmCeiling(size = 2048): Promise<ResultRow> {
  const session = await cpuSession({
    inputs: [
      { name: 'A', shape: [size, size] },
      { name: 'B', shape: [size, size] },
    ],
    outputs: [{ name: 'C', shape: [size, size] }],
    nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['C'] }],
  });
  const feeds = {
    A: new ort.Tensor('float32', randomNormal(size * size, 1), [size, size]),
    B: new ort.Tensor('float32', randomNormal(size * size, 2), [size, size]),
  };
  const ms = await medianMs(() => session.run(feeds), { iterations: 5, time: 2000 });
  await session.release();
  return {
    name: `onnxruntime MatMul ${size}³`,
    kind: 'ceiling',
    Q: size,
    medianMs: ms,
    qps: 1000 / ms,
    gflops: (2 * size ** 3) / ms / 1e6,
  };
}

const copyWorker = `
const { parentPort, workerData } = require('node:worker_threads');
const { src, dst, flag, reps } = workerData;
const a = new Float32Array(src), b = new Float32Array(dst), f = new Int32Array(flag);
parentPort.on('message', () => {
  Atomics.wait(f, 0, 0);
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) b.set(a);
  parentPort.postMessage(performance.now() - t0);
});
`;

/** Multi-threaded copy bandwidth in GB/s (read + write bytes per second), median of 5 rounds. */
export async function bandwidthCeiling(bytesPerWorker = 128 * 2 ** 20, reps = 4): Promise<ResultRow> {
  const threads = cpus().length;
  const flag = new SharedArrayBuffer(4);
  const workers = Array.from({ length: threads }, (_, i) => {
    const src = new SharedArrayBuffer(bytesPerWorker);
    new Float32Array(src).set(randomNormal(bytesPerWorker / 4, 10 + i));
    return new Worker(copyWorker, {
      eval: true,
      workerData: { src, dst: new SharedArrayBuffer(bytesPerWorker), flag, reps },
    });
  });
  const rounds: number[] = [];
  for (let round = 0; round < 6; round++) {
    const f = new Int32Array(flag);
    Atomics.store(f, 0, 0);
    const done = workers.map((w) => new Promise<number>((resolve) => w.once('message', resolve)));
    workers.forEach((w) => w.postMessage('go'));
    await new Promise((r) => setTimeout(r, 20));
    Atomics.store(f, 0, 1);
    Atomics.notify(f, 0);
    const times = await Promise.all(done);
    if (round > 0) rounds.push(Math.max(...times)); // round 0 is the warm-up (page faults)
  }
  await Promise.all(workers.map((w) => w.terminate()));
  rounds.sort((a, b) => a - b);
  const ms = rounds[rounds.length >> 1]!;
  const bytes = 2 * bytesPerWorker * reps * threads;
  return {
    name: `copy, ${threads} threads`,
    kind: 'ceiling',
    Q: 0,
    medianMs: ms,
    qps: 0,
    gbps: bytes / ms / 1e6,
    note: 'read + write bytes',
  };
}
