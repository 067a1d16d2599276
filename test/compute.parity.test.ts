// Every available backend against the js reference on fresh random inputs (seed in failure
// messages; ARBITER_SEED replays). Tolerances: fp32 scores within 1e-4 relative; fp16 index rows
// are rounded identically by every backend, so the same tolerance applies against a js fp16
// index, and fp16 vs fp32 scores stay within 4e-3 * |q| * |x|.
import { describe, expect, it } from 'vitest';

import { availableBackends, expectSameSearch, Random, SEED } from './helpers.js';
import { createBackend, type DenseLayer, type Metric, toHalf } from '../src/compute/index.js';

const js = createBackend('js');
const backends = availableBackends().filter((b) => b.name !== 'js');
const TOL = 1e-4;

describe.each(backends.map((b) => [b.name, b]))('%s backend matches the js reference', (_name, backend) => {
  const r = new Random(SEED);

  it.each([
    // [n, d, q, k]: n = 1, odd d, k > n, a larger batch, d not a multiple of the SIMD width
    [1, 7, 1, 1],
    [1, 5, 3, 4],
    [37, 33, 5, 4],
    [600, 64, 13, 10],
    [257, 129, 7, 300],
  ])('search n=%i d=%i q=%i k=%i, every metric and dtype', async (n, d, q, k) => {
    for (const dtype of ['f32', 'f16'] as const) {
      const rows = r.normal(n * d);
      const ids = Int32Array.from({ length: n }, (_, i) => i * 7 + 3);
      const queries = r.normal(q * d);
      const idx = backend.createIndex({ dim: d, dtype });
      const ref = js.createIndex({ dim: d, dtype });
      await idx.add(ids, rows);
      await ref.add(ids, rows);
      expect(idx.size).toBe(n);
      for (const metric of ['ip', 'cos', 'l2'] as Metric[]) {
        const got = await idx.search(queries, k, metric);
        const want = await ref.search(queries, k + 1, metric);
        expectSameSearch(got, want, TOL, `${dtype} ${metric}`);
      }
      idx.free();
      ref.free();
    }
  });

  it('empty query batch and empty index', async () => {
    const idx = backend.createIndex({ dim: 9 });
    const empty = await idx.search(r.normal(9), 3, 'l2');
    expect(empty.k).toBe(0);
    expect(empty.ids.length).toBe(0);
    await idx.add(Int32Array.of(1, 2), r.normal(18));
    const none = await idx.search(new Float32Array(0), 3);
    expect(none.n).toBe(0);
    expect(none.ids.length).toBe(0);
    idx.free();
  });

  it('remove keeps results exact; get returns stored rows', async () => {
    const d = 24;
    const n = 300;
    const rows = r.normal(n * d);
    const ids = Int32Array.from({ length: n }, (_, i) => i);
    const idx = backend.createIndex({ dim: d });
    const ref = js.createIndex({ dim: d });
    await Promise.all([idx.add(ids, rows), ref.add(ids, rows)]);
    const gone = Int32Array.from({ length: 100 }, (_, i) => i * 3);
    expect(await idx.remove(Int32Array.of(...gone, 99999))).toBe(100);
    await ref.remove(gone);
    expect(idx.size).toBe(200);
    const queries = r.normal(4 * d);
    expectSameSearch(await idx.search(queries, 10, 'cos'), await ref.search(queries, 11, 'cos'), TOL, 'after remove');
    expect(idx.get(1)).toEqual(rows.slice(d, 2 * d));
    expect(idx.get(0)).toBeNull();
    // getRows: the rows of live ids in the order asked, each what get gives; null when one is absent
    const live = Int32Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 0);
    const asked = Int32Array.from(live).reverse();
    const got = idx.getRows(asked)!;
    expect(got.length).toBe(asked.length * d);
    asked.forEach((id, i) => expect(got.subarray(i * d, (i + 1) * d)).toEqual(idx.get(id)));
    expect(idx.getRows(Int32Array.of(1, 0, 2))).toBeNull();
    expect(ref.getRows(asked)).toEqual(got); // the JS index's row-by-row read, the same rows
    expect(ref.getRows(Int32Array.of(1, 0, 2))).toBeNull();
    expect(idx.getRows(new Int32Array(0))).toEqual(new Float32Array(0));
    const half = backend.createIndex({ dim: d, dtype: 'f16' });
    await half.add(ids, rows);
    const hr = half.getRows(ids)!;
    ids.forEach((id, i) => expect(hr.subarray(i * d, (i + 1) * d)).toEqual(half.get(id)));
    half.free();
    idx.free();
  });

  it('i64 ids round-trip', async () => {
    const idx = backend.createIndex({ dim: 3, idType: 'i64' });
    const big = BigInt64Array.of(2n ** 40n + 1n, -5n);
    await idx.add(big, Float32Array.of(1, 0, 0, 0, 1, 0));
    const res = await idx.search(Float32Array.of(1, 0.1, 0), 2, 'ip');
    expect(res.ids).toEqual(BigInt64Array.of(2n ** 40n + 1n, -5n));
    idx.free();
  });

  it('fp16 rows stay within the stated tolerance of fp32', async () => {
    const d = 64;
    const rows = r.normal(500 * d);
    const queries = r.normal(8 * d);
    const ids = Int32Array.from({ length: 500 }, (_, i) => i);
    const a = backend.createIndex({ dim: d, dtype: 'f16' });
    const b = backend.createIndex({ dim: d, dtype: 'f32' });
    await Promise.all([a.add(ids, rows), b.add(ids, rows)]);
    const ra = await a.search(queries, 5, 'cos');
    const rb = await b.search(queries, 5, 'cos');
    for (let i = 0; i < ra.scores.length; i++) expect(Math.abs(ra.scores[i]! - rb.scores[i]!)).toBeLessThan(4e-3);
    a.free();
    b.free();
  });

  it.each([1, 7, 64, 300])('embedPool d=%i: fp32 and fp16 tables, weights, empty bags, mean', async (d) => {
    const vocab = 400;
    const data = r.normal(vocab * d);
    const lens = Array.from({ length: 41 }, (_, i) => (i === 3 ? 0 : r.int(0, 30)));
    const offsets = Int32Array.from([0, ...lens.map((_, i) => lens.slice(0, i + 1).reduce((s, x) => s + x, 0))]);
    const ids = Int32Array.from({ length: offsets[offsets.length - 1]! }, () => r.int(0, vocab));
    const weights = Float32Array.from(ids, () => r.uniform() * 2);
    for (const table of [
      { data, vocab, dim: d },
      { data: toHalf(data), vocab, dim: d },
    ]) {
      for (const options of [undefined, { weights }, { weights, normalize: false }]) {
        const got = await backend.embedPool(table, ids, offsets, options);
        const want = await js.embedPool(table, ids, offsets, options);
        expect(got.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5);
        expect(Array.from(got.subarray(3 * d, 4 * d)).every((x) => x === 0)).toBe(true);
      }
    }
    expect((await backend.embedPool({ data, vocab, dim: d }, new Int32Array(0), Int32Array.of(0))).length).toBe(0);
  });

  it.each([
    [1, [13, 1], ['sigmoid']],
    [5, [64, 33, 7], ['relu', 'softmax']],
    [97, [300, 128, 64, 5], ['gelu', 'sigmoid', 'none']],
  ] as const)('mlp n=%i layers %j activations %j', async (n, dims, acts) => {
    const layers: DenseLayer[] = acts.map((activation, l) => ({
      in: dims[l]!,
      out: dims[l + 1]!,
      weight: r.normal(dims[l]! * dims[l + 1]!).map((x) => x / Math.sqrt(dims[l]!)),
      bias: r.normal(dims[l + 1]!),
      activation,
    }));
    const x = r.normal(n * dims[0]);
    const got = await backend.mlp({ layers }, x);
    const want = await js.mlp({ layers }, x);
    expect(got.length).toBe(n * dims[dims.length - 1]!);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(2e-5);
    expect((await backend.mlp({ layers }, new Float32Array(0))).length).toBe(0);
  });

  it('overlapping calls of different sizes each compute on their own inputs (native copies reuse buffers)', async () => {
    const d = 48;
    const layers: DenseLayer[] = [
      { in: d, out: 20, weight: r.normal(d * 20).map((x) => x / Math.sqrt(d)), bias: r.normal(20), activation: 'relu' },
      { in: 20, out: 3, weight: r.normal(60), bias: r.normal(3), activation: 'softmax' },
    ];
    const idx = backend.createIndex({ dim: d });
    const ref = js.createIndex({ dim: d });
    const ids = Int32Array.from({ length: 300 }, (_, i) => i);
    const rows = r.normal(300 * d);
    await Promise.all([idx.add(ids, rows), ref.add(ids, rows)]);
    for (let round = 0; round < 3; round++) {
      // sizes up and down, so a released larger copy is taken for a smaller call
      const sizes = Array.from({ length: 24 }, () => r.int(1, 400));
      const inputs = sizes.map((n) => r.normal(n * d));
      const kept = inputs.map((x) => x.slice());
      const calls = inputs.map((x, i) => (i % 3 === 2 ? idx.search(x, 4, 'ip') : backend.mlp({ layers }, x)));
      for (const x of inputs) x.fill(Number.NaN); // the caller reuses its arrays at once: the calls copied them
      const got = await Promise.all(calls);
      for (const [i, x] of kept.entries()) {
        if (i % 3 === 2)
          expectSameSearch(
            got[i] as Awaited<ReturnType<typeof idx.search>>,
            await ref.search(x, 5, 'ip'),
            TOL,
            `call ${i}`,
          );
        else {
          const want = await js.mlp({ layers }, x);
          const out = got[i] as Float32Array;
          expect(out.length).toBe(want.length);
          for (let j = 0; j < want.length; j++) expect(Math.abs(out[j]! - want[j]!)).toBeLessThan(2e-5);
        }
      }
    }
    idx.free();
    ref.free();
  });
});

describe('reference self-checks', () => {
  it('js cosine of a vector with itself is 1 and l2 distance 0', async () => {
    const r = new Random(SEED);
    const idx = js.createIndex({ dim: 5 });
    const v = r.normal(5);
    await idx.add(Int32Array.of(42), v);
    expect((await idx.search(v, 1, 'cos')).scores[0]).toBeCloseTo(1, 6);
    expect((await idx.search(v, 1, 'l2')).scores[0]).toBeCloseTo(0, 5);
  });
});

describe('large inputs past 2^24 elements (gpu.js indexes in float32)', () => {
  const big = availableBackends().filter((b) => b.name !== 'js');
  it.each(big.map((b) => [b.name, b]))(
    '%s: search over 65,600 x 256 rows and pooling over a 70,000 x 256 table',
    async (_n, backend) => {
      const r = new Random(SEED);
      const n = 65_600;
      const d = 256;
      const rows = r.normal(n * d); // 16.8M values > 2^24
      const ids = Int32Array.from({ length: n }, (_, i) => i);
      // queries aimed at rows whose flat offsets lie past 2^24, so a float32 index cannot hide
      const queries = new Float32Array(2 * d);
      queries.set(
        rows.subarray(65_599 * d, 65_600 * d).map((x) => 3 * x),
        0,
      );
      queries.set(
        rows.subarray(65_561 * d, 65_562 * d).map((x) => 3 * x),
        d,
      );
      const idx = backend.createIndex({ dim: d });
      const ref = js.createIndex({ dim: d });
      await Promise.all([idx.add(ids, rows), ref.add(ids, rows)]);
      expectSameSearch(await idx.search(queries, 5, 'ip'), await ref.search(queries, 6, 'ip'), TOL, 'large index');
      idx.free();
      ref.free();
      const table = { data: r.normal(70_000 * d), vocab: 70_000, dim: d };
      const tokens = Int32Array.of(3, 69_999, 65_537, 12, 40_000);
      const offsets = Int32Array.of(0, 2, 5);
      const got = await backend.embedPool(table, tokens, offsets);
      const want = await js.embedPool(table, tokens, offsets);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5);
    },
  );
});
