// Bad input gets a typed ArbiterError with a stable code, changes no state, and never crashes
// the process — through the public API of every backend, and through the raw addon too.
import { describe, expect, it } from 'vitest';

import { ArbiterError, ErrorCodes } from '../src/index.js';
import { loadAddon } from '../src/compute/addon.js';
import { availableBackends, Random, SEED } from './helpers.js';
import { type ComputeBackend, type VectorIndex } from '../src/compute/index.js';

async function rejectsWith(p: Promise<unknown>, code: string, param?: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a rejection with ${code}`).toBeInstanceOf(ArbiterError);
  expect((err as ArbiterError).code).toBe(code);
  if (param) expect((err as ArbiterError).param).toBe(param);
}

describe.each(availableBackends().map((b) => [b.name, b]))(
  '%s backend rejects bad input',
  (_name, backend: ComputeBackend) => {
    const r = new Random(SEED);

    async function filled(): Promise<VectorIndex> {
      const idx = backend.createIndex({ dim: 4 });
      await idx.add(Int32Array.of(1, 2, 3), r.normal(12));
      return idx;
    }

    it('index options', () => {
      for (const bad of [
        { dim: 0 },
        { dim: 2.5 },
        { dim: -1 },
        { dim: '4' },
        { dim: 4, dtype: 'f64' },
        { dim: 4, idType: 'u8' },
      ])
        expect(() => backend.createIndex(bad as never)).toThrow(ArbiterError);
    });

    it('add: wrong lengths, NaN, duplicates, wrong id type — and the index is unchanged', async () => {
      const idx = await filled();
      const before = await idx.search(Float32Array.of(1, 2, 3, 4), 3, 'ip');
      await rejectsWith(idx.add(Int32Array.of(9), r.normal(5)), ErrorCodes.DIMENSION_MISMATCH, 'vectors');
      await rejectsWith(idx.add(Int32Array.of(9, 10), r.normal(4)), ErrorCodes.DIMENSION_MISMATCH, 'vectors');
      await rejectsWith(idx.add(Int32Array.of(9), Float32Array.of(1, NaN, 0, 0)), ErrorCodes.NOT_FINITE, 'vectors');
      await rejectsWith(
        idx.add(Int32Array.of(9), Float32Array.of(1, Infinity, 0, 0)),
        ErrorCodes.NOT_FINITE,
        'vectors',
      );
      await rejectsWith(idx.add(Int32Array.of(9, 2), r.normal(8)), ErrorCodes.DUPLICATE_ID);
      await rejectsWith(idx.add(Int32Array.of(9, 9), r.normal(8)), ErrorCodes.DUPLICATE_ID, 'ids');
      await rejectsWith(idx.add(BigInt64Array.of(9n), r.normal(4)), ErrorCodes.INVALID_ARGUMENT, 'ids');
      await rejectsWith(idx.add([9] as never, r.normal(4)), ErrorCodes.INVALID_ARGUMENT, 'ids');
      await rejectsWith(idx.add(Int32Array.of(9), [1, 2, 3, 4] as never), ErrorCodes.INVALID_ARGUMENT, 'vectors');
      expect(idx.size).toBe(3);
      expect(await idx.search(Float32Array.of(1, 2, 3, 4), 3, 'ip')).toEqual(before);
      idx.free();
    });

    it('search: k <= 0, non-integer k, dimension mismatch, NaN query, bad metric', async () => {
      const idx = await filled();
      const q = r.normal(4);
      await rejectsWith(idx.search(q, 0), ErrorCodes.INVALID_ARGUMENT, 'k');
      await rejectsWith(idx.search(q, -3), ErrorCodes.INVALID_ARGUMENT, 'k');
      await rejectsWith(idx.search(q, 1.5), ErrorCodes.INVALID_ARGUMENT, 'k');
      await rejectsWith(idx.search(q, NaN), ErrorCodes.INVALID_ARGUMENT, 'k');
      await rejectsWith(idx.search(r.normal(5), 1), ErrorCodes.DIMENSION_MISMATCH, 'queries');
      await rejectsWith(idx.search(Float32Array.of(NaN, 0, 0, 0), 1), ErrorCodes.NOT_FINITE, 'queries');
      await rejectsWith(idx.search(q, 1, 'hamming' as never), ErrorCodes.INVALID_ARGUMENT, 'metric');
      idx.free();
    });

    it('a freed index fails with ARB_FREED, and free is idempotent', async () => {
      const idx = await filled();
      idx.free();
      idx.free();
      await rejectsWith(idx.search(r.normal(4), 1), ErrorCodes.FREED);
      await rejectsWith(idx.add(Int32Array.of(7), r.normal(4)), ErrorCodes.FREED);
      await rejectsWith(idx.remove(Int32Array.of(1)), ErrorCodes.FREED);
      expect(() => idx.get(1)).toThrow(ArbiterError);
      expect(idx.size).toBe(0);
    });

    it('free while a search is in flight: the search still completes', async () => {
      const idx = backend.createIndex({ dim: 32 });
      await idx.add(
        Int32Array.from({ length: 2000 }, (_, i) => i),
        r.normal(2000 * 32),
      );
      const pending = idx.search(r.normal(64 * 32), 5);
      idx.free();
      const res = await pending;
      expect(res.ids.length).toBe(64 * 5);
    });

    it('embedPool: out-of-range ids, bad offsets, bad weights, wrong table', async () => {
      const table = { data: r.normal(10 * 3), vocab: 10, dim: 3 };
      const ok = Int32Array.of(0, 2);
      await rejectsWith(backend.embedPool(table, Int32Array.of(0, 10), ok), ErrorCodes.OUT_OF_RANGE, 'ids');
      await rejectsWith(backend.embedPool(table, Int32Array.of(-1, 1), ok), ErrorCodes.OUT_OF_RANGE, 'ids');
      await rejectsWith(
        backend.embedPool(table, Int32Array.of(0, 1), Int32Array.of(1, 2)),
        ErrorCodes.INVALID_ARGUMENT,
        'offsets',
      );
      await rejectsWith(
        backend.embedPool(table, Int32Array.of(0, 1), Int32Array.of(0, 2, 1, 2)),
        ErrorCodes.INVALID_ARGUMENT,
        'offsets',
      );
      await rejectsWith(
        backend.embedPool(table, Int32Array.of(0, 1), Int32Array.of(0, 3)),
        ErrorCodes.DIMENSION_MISMATCH,
        'offsets',
      );
      await rejectsWith(
        backend.embedPool(table, Int32Array.of(0, 1), new Int32Array(0)),
        ErrorCodes.INVALID_ARGUMENT,
        'offsets',
      );
      await rejectsWith(
        backend.embedPool(table, Int32Array.of(0, 1), ok, { weights: Float32Array.of(1) }),
        ErrorCodes.DIMENSION_MISMATCH,
        'options.weights',
      );
      await rejectsWith(
        backend.embedPool(table, Int32Array.of(0, 1), ok, { weights: Float32Array.of(1, -1) }),
        ErrorCodes.OUT_OF_RANGE,
        'options.weights',
      );
      await rejectsWith(
        backend.embedPool(table, Int32Array.of(0, 1), ok, { weights: Float32Array.of(1, NaN) }),
        ErrorCodes.NOT_FINITE,
        'options.weights',
      );
      await rejectsWith(
        backend.embedPool({ ...table, vocab: 11 }, ok, ok),
        ErrorCodes.DIMENSION_MISMATCH,
        'table.data',
      );
      await rejectsWith(
        backend.embedPool({ data: [1, 2, 3], vocab: 1, dim: 3 } as never, ok, ok),
        ErrorCodes.INVALID_ARGUMENT,
        'table.data',
      );
      await rejectsWith(backend.embedPool(table, [0, 1] as never, ok), ErrorCodes.INVALID_ARGUMENT, 'ids');
      const nanTable = { data: r.normal(10 * 3), vocab: 10, dim: 3 };
      nanTable.data[17] = NaN;
      await rejectsWith(backend.embedPool(nanTable, ok, ok), ErrorCodes.NOT_FINITE, 'table.data');
      await rejectsWith(backend.embedPool(nanTable, ok, ok), ErrorCodes.NOT_FINITE, 'table.data'); // still, on a second call
    });

    it('mlp: chaining, sizes, activations, NaN weights, input length', async () => {
      const L = (i: number, o: number, activation = 'relu') =>
        ({ in: i, out: o, weight: r.normal(i * o), activation }) as never;
      await rejectsWith(backend.mlp({ layers: [] }, r.normal(4)), ErrorCodes.INVALID_ARGUMENT, 'weights.layers');
      await rejectsWith(
        backend.mlp({ layers: [L(4, 3), L(5, 2)] }, r.normal(4)),
        ErrorCodes.DIMENSION_MISMATCH,
        'weights.layers[1].in',
      );
      await rejectsWith(
        backend.mlp({ layers: [L(4, 3, 'softmax'), L(3, 2)] }, r.normal(4)),
        ErrorCodes.INVALID_ARGUMENT,
        'weights.layers[0].activation',
      );
      await rejectsWith(
        backend.mlp({ layers: [L(4, 3, 'tanh')] }, r.normal(4)),
        ErrorCodes.INVALID_ARGUMENT,
        'weights.layers[0].activation',
      );
      await rejectsWith(
        backend.mlp({ layers: [{ in: 4, out: 3, weight: r.normal(11), activation: 'relu' }] }, r.normal(4)),
        ErrorCodes.DIMENSION_MISMATCH,
        'weights.layers[0].weight',
      );
      await rejectsWith(
        backend.mlp({ layers: [{ in: 2, out: 1, weight: Float32Array.of(1, NaN), activation: 'none' }] }, r.normal(2)),
        ErrorCodes.NOT_FINITE,
        'weights.layers[0].weight',
      );
      await rejectsWith(backend.mlp({ layers: [L(4, 3)] }, r.normal(5)), ErrorCodes.DIMENSION_MISMATCH, 'x');
      await rejectsWith(backend.mlp({ layers: [L(4, 3)] }, Float32Array.of(0, 0, NaN, 0)), ErrorCodes.NOT_FINITE, 'x');
      await rejectsWith(backend.mlp(null as never, r.normal(4)), ErrorCodes.INVALID_ARGUMENT, 'weights');
    });
  },
);

describe('raw addon misuse never crashes the process', () => {
  const addon = loadAddon();
  it.skipIf(!addon)('wrong types and shapes become rejections or thrown errors with codes', async () => {
    const a = addon!;
    const idx = new a.Index(4, 'f32', 'cpu');
    const codeOf = async (f: () => unknown) => {
      try {
        await f();
        return 'no error';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    expect(await codeOf(() => idx.add(new Int32Array(2) as never, new Float32Array(8)))).toBe('ARB_INVALID_ARGUMENT');
    expect(await codeOf(() => idx.add(new BigInt64Array(2), new Float32Array(7)))).toBe('ARB_DIMENSION_MISMATCH');
    expect(await codeOf(() => idx.search(new Float32Array(4), 0, 'ip'))).toBe('ARB_INVALID_ARGUMENT');
    expect(await codeOf(() => idx.search(new Float32Array(4), 1, 'x'))).toBe('ARB_INVALID_ARGUMENT');
    expect(await codeOf(() => idx.search({} as never, 1, 'ip'))).toBe('ARB_INVALID_ARGUMENT');
    expect(await codeOf(() => new a.Index(-1, 'f32', 'cpu'))).toBe('ARB_INVALID_ARGUMENT');
    expect(await codeOf(() => new a.Index(4, 'f32', 'tpu'))).toBe('ARB_INVALID_ARGUMENT');
    const table = new a.EmbedTable(new Float32Array(6), 2, 3, 'cpu');
    expect(await codeOf(() => table.pool(Int32Array.of(5), Int32Array.of(0, 1), null, true))).toBe('ARB_OUT_OF_RANGE');
    expect(await codeOf(() => table.pool(Int32Array.of(0), Int32Array.of(0, 2), null, true))).toBe(
      'ARB_INVALID_ARGUMENT',
    );
    expect(await codeOf(() => new a.Mlp([{ in: 2, out: 1, weight: new Float32Array(3) }], 'cpu'))).toBe(
      'ARB_DIMENSION_MISMATCH',
    );
    expect(await codeOf(() => new a.Mlp('x' as never, 'cpu'))).toBe('ARB_INVALID_ARGUMENT');
    idx.free();
    expect(await codeOf(() => idx.search(new Float32Array(4), 1, 'ip'))).toBe('ARB_FREED');
  });

  it.skipIf(!addon)(
    'limitKernels: an unknown name or a non-string is refused and the kernels stay as they were',
    () => {
      const a = addon!;
      const before = a.info().simd;
      for (const bad of ['avx1024', '', 3, null])
        expect(() => a.limitKernels(bad as never)).toThrow(expect.objectContaining({ code: 'ARB_INVALID_ARGUMENT' }));
      expect(a.info().simd).toBe(before);
      try {
        a.limitKernels('generic');
        expect(a.info().simd).toBe('generic');
      } finally {
        a.limitKernels('best');
      }
      expect(a.info().simd).toBe(before);
    },
  );
});
