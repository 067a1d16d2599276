/**
 * Static-embedding pooling: bags of token ids over a vocab x d table, weighted mean, L2 norm.
 * Every backend (fp32 and fp16 tables) and onnxruntime as a peer (Gather -> weighted ReduceSum ->
 * LpNormalization over bags padded to the longest, weights 0 on padding), timed in alternating
 * passes. Bytes = tokens · d · bytes per value gathered from the table.
 *   npm run bench -- embed
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
import { cpuSession } from './lib/onnx.js';
import { type EmbeddingTable, toHalf } from '../src/compute/index.js';

const VOCAB = 30_000;
const D = 256;
const BAGS = 4096;
const MAX_LEN = 40;

let seed = 7;
const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
const lens = Array.from({ length: BAGS }, () => 8 + Math.floor(rand() * (MAX_LEN - 8 + 1)));
const offsets = new Int32Array(BAGS + 1);
lens.forEach((l, i) => (offsets[i + 1] = offsets[i]! + l));
const TOKENS = offsets[BAGS]!;
const ids = Int32Array.from({ length: TOKENS }, () => Math.floor(rand() * VOCAB));
const weights = Float32Array.from({ length: TOKENS }, () => 0.25 + rand());
const f32: EmbeddingTable = { data: randomNormal(VOCAB * D, 3), vocab: VOCAB, dim: D };
const f16: EmbeddingTable = { data: toHalf(f32.data as Float32Array), vocab: VOCAB, dim: D };

const row = (name: string, kind: ResultRow['kind'], ms: number, bytesPerValue: number, note?: string): ResultRow => ({
  name,
  kind,
  Q: BAGS,
  medianMs: ms,
  qps: (BAGS * 1000) / ms,
  gflops: (2 * TOKENS * D) / ms / 1e6,
  gbps: (TOKENS * D * bytesPerValue) / ms / 1e6,
  ...(note ? { note } : {}),
});

const contenders: Array<{ name: string; kind: ResultRow['kind']; bytes: number; fn: () => Promise<Float32Array> }> = [];
for (const backend of loadedBackends()) {
  const name = backend.name;
  contenders.push({
    name: `${name} f32`,
    kind: 'backend',
    bytes: 4,
    fn: () => backend.embedPool(f32, ids, offsets, { weights }),
  });
  contenders.push({
    name: `${name} f16`,
    kind: 'backend',
    bytes: 2,
    fn: () => backend.embedPool(f16, ids, offsets, { weights }),
  });
}

// onnxruntime peer over padded bags
const padIds = new BigInt64Array(BAGS * MAX_LEN);
const padW = new Float32Array(BAGS * MAX_LEN);
for (let b = 0; b < BAGS; b++)
  for (let j = offsets[b]!; j < offsets[b + 1]!; j++) {
    padIds[b * MAX_LEN + (j - offsets[b]!)] = BigInt(ids[j]!);
    padW[b * MAX_LEN + (j - offsets[b]!)] = weights[j]!;
  }
const session = await cpuSession({
  inputs: [
    { name: 'ids', shape: ['b', MAX_LEN], type: 'int64' },
    { name: 'w', shape: ['b', MAX_LEN, 1] },
  ],
  outputs: [{ name: 'out', shape: ['b', D] }],
  floatConstants: { table: { dims: [VOCAB, D], data: f32.data as Float32Array } },
  int64Constants: { axes: [1] },
  nodes: [
    { op: 'Gather', inputs: ['table', 'ids'], outputs: ['rows'] },
    { op: 'Mul', inputs: ['rows', 'w'], outputs: ['weighted'] },
    { op: 'ReduceSum', inputs: ['weighted', 'axes'], outputs: ['sum'], ints: { keepdims: 0 } },
    { op: 'LpNormalization', inputs: ['sum'], outputs: ['out'], ints: { axis: -1, p: 2 } },
  ],
});
const feeds = {
  ids: new ort.Tensor('int64', padIds, [BAGS, MAX_LEN]),
  w: new ort.Tensor('float32', padW, [BAGS, MAX_LEN, 1]),
};
contenders.push({
  name: 'onnxruntime Gather+ReduceSum+LpNorm',
  kind: 'peer',
  bytes: 4,
  fn: async () => (await session.run(feeds)).out!.data as Float32Array,
});

const notes = await maxDiffNotes(contenders); // against the first contender (cpu f32 when the addon loaded)
const medians = await interleavedMedians(contenders.map((c) => ({ name: c.name, fn: c.fn })));
const rows = contenders.map((c) => row(c.name, c.kind, medians.get(c.name)!, c.bytes, notes.get(c.name)));
printTable(
  `Embedding pooling: ${BAGS} bags, ${TOKENS.toLocaleString('en-US')} tokens (8-${MAX_LEN} per bag), table ${VOCAB.toLocaleString('en-US')} x ${D}, weighted, L2-normalised`,
  rows,
  'bags/s',
);
const cpu = rows.find((r) => r.name === 'cpu f32');
const summary = { cpuSpeedupOverOnnxruntime: cpu ? cpu.qps / rows.find((r) => r.kind === 'peer')!.qps : null };
process.stdout.write(
  `summary: ${JSON.stringify(summary)}\nwrote ${writeResults('embed', { shape: { vocab: VOCAB, d: D, bags: BAGS, tokens: TOKENS }, results: rows, summary })}\n`,
);
await session.release();
