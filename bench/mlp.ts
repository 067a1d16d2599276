/**
 * MLP heads on a batch of rows: a reward head (256 -> 64 ReLU -> 1 sigmoid) and a task head
 * (256 -> 128 ReLU -> 7 softmax). Every backend and onnxruntime (Gemm chains) on the same weights,
 * timed in alternating passes. FLOPs = 2 · rows · Σ in·out.
 *   npm run bench -- mlp
 */
import ort from 'onnxruntime-node';

import {
  interleavedMedians,
  loadedBackends,
  maxDiffNotes,
  printTable,
  randomNormal,
  writeResults,
  type ResultRow,
} from './lib/common.js';
import { cpuSession, type NodeSpec } from './lib/onnx.js';
import { type Activation, type MlpWeights } from '../src/compute/index.js';

const ROWS = 65_536;
const heads: Array<{ name: string; dims: number[]; acts: Activation[] }> = [
  { name: 'reward head 256-64-1', dims: [256, 64, 1], acts: ['relu', 'sigmoid'] },
  { name: 'task head 256-128-7', dims: [256, 128, 7], acts: ['relu', 'softmax'] },
];
const x = randomNormal(ROWS * 256, 11);
const rows: ResultRow[] = [];

for (const head of heads) {
  const weights: MlpWeights = {
    layers: head.acts.map((activation, l) => ({
      in: head.dims[l]!,
      out: head.dims[l + 1]!,
      weight: randomNormal(head.dims[l]! * head.dims[l + 1]!, 20 + l).map((v) => v / Math.sqrt(head.dims[l]!)),
      bias: randomNormal(head.dims[l + 1]!, 30 + l),
      activation,
    })),
  };
  const flops = 2 * ROWS * head.dims.slice(1).reduce((s, o, l) => s + head.dims[l]! * o, 0);
  const contenders: Array<{ name: string; kind: ResultRow['kind']; fn: () => Promise<Float32Array> }> = [];
  for (const b of loadedBackends()) contenders.push({ name: b.name, kind: 'backend', fn: () => b.mlp(weights, x) });
  const nodes: NodeSpec[] = [];
  const floatConstants: Record<string, { dims: number[]; data: Float32Array }> = {};
  let cur = 'x';
  weights.layers.forEach((L, l) => {
    floatConstants[`W${l}`] = { dims: [L.out, L.in], data: L.weight };
    floatConstants[`B${l}`] = { dims: [L.out], data: L.bias! };
    nodes.push({ op: 'Gemm', inputs: [cur, `W${l}`, `B${l}`], outputs: [`z${l}`], ints: { transB: 1 } });
    const op = L.activation === 'relu' ? 'Relu' : L.activation === 'sigmoid' ? 'Sigmoid' : 'Softmax';
    nodes.push({
      op,
      inputs: [`z${l}`],
      outputs: [l === weights.layers.length - 1 ? 'y' : `a${l}`],
      ...(op === 'Softmax' ? { ints: { axis: -1 } } : {}),
    });
    cur = `a${l}`;
  });
  const session = await cpuSession({
    inputs: [{ name: 'x', shape: ['n', 256] }],
    outputs: [{ name: 'y', shape: ['n', head.dims.at(-1)!] }],
    nodes,
    floatConstants,
  });
  const feeds = { x: new ort.Tensor('float32', x, [ROWS, 256]) };
  contenders.push({
    name: 'onnxruntime Gemm chain',
    kind: 'peer',
    fn: async () => (await session.run(feeds)).y!.data as Float32Array,
  });

  const notes = await maxDiffNotes(contenders);
  const medians = await interleavedMedians(contenders.map((c) => ({ name: c.name, fn: c.fn })));
  for (const c of contenders) {
    const ms = medians.get(c.name)!;
    const note = notes.get(c.name);
    rows.push({
      name: `${head.name}: ${c.name}`,
      kind: c.kind,
      Q: ROWS,
      medianMs: ms,
      qps: (ROWS * 1000) / ms,
      gflops: flops / ms / 1e6,
      ...(note ? { note } : {}),
    });
  }
  await session.release();
}
printTable(`MLP heads, ${ROWS.toLocaleString('en-US')} rows`, rows, 'rows/s');
const speedup = Object.fromEntries(
  heads.map((h) => [
    h.name,
    (rows.find((r) => r.name === `${h.name}: cpu`)?.qps ?? 0) /
      rows.find((r) => r.name === `${h.name}: onnxruntime Gemm chain`)!.qps,
  ]),
);
process.stdout.write(
  `summary: ${JSON.stringify({ cpuSpeedupOverOnnxruntime: speedup })}\nwrote ${writeResults('mlp', { shape: { rows: ROWS, heads }, results: rows, summary: { cpuSpeedupOverOnnxruntime: speedup } })}\n`,
);
