/**
 * Input validation shared by every backend, run before any backend (native or not) sees the
 * data: shapes, types, finiteness and ranges. Each failure is an ArbiterError naming the
 * argument. Nothing here mutates state.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import { int64Ids } from './ids.js';
import {
  ACTIVATIONS,
  type DType,
  type EmbeddingTable,
  type EmbedPoolOptions,
  type IdType,
  type Ids,
  type IndexOptions,
  type Metric,
  type MlpWeights,
} from './types.js';

const { INVALID_ARGUMENT, DIMENSION_MISMATCH, NOT_FINITE, OUT_OF_RANGE } = ErrorCodes;

function fail(code: (typeof ErrorCodes)[keyof typeof ErrorCodes], param: string, message: string): never {
  throw new ArbiterError(code, `${param} ${message}`, { param });
}

export function positiveInt(v: unknown, param: string, max = 2 ** 31 - 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > max)
    fail(
      INVALID_ARGUMENT,
      param,
      `must be a positive integer${max < 2 ** 31 - 1 ? ` <= ${max}` : ''}, got ${String(v)}`,
    );
  return v;
}

export function finiteArray(v: unknown, param: string): Float32Array {
  if (!(v instanceof Float32Array)) fail(INVALID_ARGUMENT, param, 'must be a Float32Array');
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x - x !== 0) fail(NOT_FINITE, param, `[${i}] is not finite (${x})`);
  }
  return v;
}

/**
 * A flat n x d matrix: checks the type, length % d === 0 and (unless the backend checks it
 * natively, in a pass it makes anyway) finiteness; returns n.
 */
export function matrixRows(v: unknown, d: number, param: string, checkFinite = true): number {
  if (!(v instanceof Float32Array)) fail(INVALID_ARGUMENT, param, 'must be a Float32Array');
  const arr = checkFinite ? finiteArray(v, param) : v;
  if (arr.length % d !== 0) fail(DIMENSION_MISMATCH, param, `length ${arr.length} is not a multiple of dim ${d}`);
  return arr.length / d;
}

export function metricOf(v: unknown): Metric {
  if (v === undefined) return 'ip';
  if (v === 'ip' || v === 'cos' || v === 'l2') return v;
  fail(INVALID_ARGUMENT, 'metric', `must be 'ip', 'cos' or 'l2', got ${JSON.stringify(v)}`);
}

export function indexOptions(o: unknown): Required<IndexOptions> {
  if (typeof o !== 'object' || o === null) fail(INVALID_ARGUMENT, 'options', 'must be an object');
  const opts = o as Partial<IndexOptions>;
  const dim = positiveInt(opts.dim, 'options.dim', 65536);
  const dtype: DType = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16')
    fail(INVALID_ARGUMENT, 'options.dtype', `must be 'f32' or 'f16', got ${JSON.stringify(dtype)}`);
  const idType: IdType = opts.idType ?? 'i32';
  if (idType !== 'i32' && idType !== 'i64')
    fail(INVALID_ARGUMENT, 'options.idType', `must be 'i32' or 'i64', got ${JSON.stringify(idType)}`);
  return { dim, dtype, idType };
}

/** Checks ids match the index's id type and returns them as BigInt64Array (the native form). */
export function idsToBigInt(ids: unknown, idType: IdType, param = 'ids'): BigInt64Array {
  if (idType === 'i32') {
    if (!(ids instanceof Int32Array)) fail(INVALID_ARGUMENT, param, "must be an Int32Array (index idType 'i32')");
    return int64Ids(ids);
  }
  if (!(ids instanceof BigInt64Array)) fail(INVALID_ARGUMENT, param, "must be a BigInt64Array (index idType 'i64')");
  return ids;
}

/** Checks ids are distinct within the batch (duplicates against the index are the backend's check). */
export function distinctIds(ids: Ids, param = 'ids'): void {
  // ids in increasing order (a manifold numbers its points so) are distinct: one pass, no set
  // (a set of 1,000,000 ids takes ~0.5 s)
  let i = 1;
  while (i < ids.length && ids[i]! > ids[i - 1]!) i++;
  if (i >= ids.length) return;
  const seen = new Set<number | bigint>();
  for (const id of ids) {
    if (seen.has(id)) fail(ErrorCodes.DUPLICATE_ID, param, `contains ${String(id)} more than once`);
    seen.add(id);
  }
}

export function kOf(k: unknown): number {
  return positiveInt(k, 'k', 1 << 20);
}

/** Tables already validated (with the data array they had then): tables are immutable once used. */
const validTables = new WeakMap<EmbeddingTable, EmbeddingTable['data']>();

/** Validates a table once per (table, data) pair; `checkFinite` false when the backend checks natively. */
/** fp16 bits with an all-ones exponent are NaN or an infinity. */
function finiteHalf(a: Uint16Array, name: string): void {
  for (let i = 0; i < a.length; i++)
    if ((a[i]! & 0x7c00) === 0x7c00) fail(NOT_FINITE, name, `[${i}] is not finite (fp16 bits 0x${a[i]!.toString(16)})`);
}

export function embedTable(t: unknown, checkFinite = true): EmbeddingTable {
  if (typeof t !== 'object' || t === null) fail(INVALID_ARGUMENT, 'table', 'must be an object {data, vocab, dim}');
  const tab = t as EmbeddingTable;
  if (validTables.get(tab) === tab.data && tab.data !== undefined) return tab;
  positiveInt(tab.vocab, 'table.vocab');
  positiveInt(tab.dim, 'table.dim', 65536);
  if (tab.data instanceof Float32Array) {
    if (checkFinite) finiteArray(tab.data, 'table.data');
  } else if (!(tab.data instanceof Uint16Array))
    fail(INVALID_ARGUMENT, 'table.data', 'must be a Float32Array or a Uint16Array of fp16 bits');
  else finiteHalf(tab.data, 'table.data'); // once per table (cached below)
  if (tab.data.length !== tab.vocab * tab.dim)
    fail(DIMENSION_MISMATCH, 'table.data', `length ${tab.data.length} must equal vocab * dim = ${tab.vocab * tab.dim}`);
  if (checkFinite || tab.data instanceof Uint16Array) validTables.set(tab, tab.data); // fully checked only
  return tab;
}

/** Validates pooling inputs; returns the number of bags. */
export function embedInputs(
  table: EmbeddingTable,
  ids: unknown,
  offsets: unknown,
  options: EmbedPoolOptions | undefined,
): number {
  if (!(ids instanceof Int32Array)) fail(INVALID_ARGUMENT, 'ids', 'must be an Int32Array');
  if (!(offsets instanceof Int32Array)) fail(INVALID_ARGUMENT, 'offsets', 'must be an Int32Array');
  if (offsets.length === 0)
    fail(INVALID_ARGUMENT, 'offsets', 'must have n + 1 entries (offsets[0] = 0, offsets[n] = ids.length)');
  if (offsets[0] !== 0) fail(INVALID_ARGUMENT, 'offsets', `[0] must be 0, got ${offsets[0]}`);
  for (let i = 1; i < offsets.length; i++)
    if (offsets[i]! < offsets[i - 1]!)
      fail(INVALID_ARGUMENT, 'offsets', `must be non-decreasing (offsets[${i}] < offsets[${i - 1}])`);
  if (offsets[offsets.length - 1] !== ids.length)
    fail(
      DIMENSION_MISMATCH,
      'offsets',
      `last entry must equal ids.length (${ids.length}), got ${offsets[offsets.length - 1]}`,
    );
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= table.vocab)
      fail(OUT_OF_RANGE, 'ids', `[${i}] = ${id} is outside the table (vocab ${table.vocab})`);
  }
  if (options !== undefined && (typeof options !== 'object' || options === null))
    fail(INVALID_ARGUMENT, 'options', 'must be an object');
  const w = options?.weights;
  if (w !== undefined) {
    finiteArray(w, 'options.weights');
    if (w.length !== ids.length)
      fail(DIMENSION_MISMATCH, 'options.weights', `must have one value per id (${ids.length}), got ${w.length}`);
    for (let i = 0; i < w.length; i++) if (w[i]! < 0) fail(OUT_OF_RANGE, 'options.weights', `[${i}] is negative`);
  }
  if (options?.normalize !== undefined && typeof options.normalize !== 'boolean')
    fail(INVALID_ARGUMENT, 'options.normalize', 'must be a boolean');
  return offsets.length - 1;
}

/** Weights already validated: weights are immutable once used (backends cache compiled copies). */
const validWeights = new WeakMap<MlpWeights, [number, number]>();

/** Validates MLP weights once per object (layer chaining, sizes, finiteness); returns [in, out]. */
export function mlpWeights(w: unknown): [number, number] {
  if (typeof w !== 'object' || w === null || !Array.isArray((w as MlpWeights).layers))
    fail(INVALID_ARGUMENT, 'weights', 'must be an object {layers: [...]}');
  const known = validWeights.get(w as MlpWeights);
  if (known) return known;
  const layers = (w as MlpWeights).layers;
  if (layers.length === 0) fail(INVALID_ARGUMENT, 'weights.layers', 'must not be empty');
  layers.forEach((L, i) => {
    const p = `weights.layers[${i}]`;
    if (typeof L !== 'object' || L === null) fail(INVALID_ARGUMENT, p, 'must be an object');
    positiveInt(L.in, `${p}.in`, 1 << 20);
    positiveInt(L.out, `${p}.out`, 1 << 20);
    if (i > 0 && L.in !== layers[i - 1]!.out)
      fail(DIMENSION_MISMATCH, `${p}.in`, `(${L.in}) must equal layers[${i - 1}].out (${layers[i - 1]!.out})`);
    finiteArray(L.weight, `${p}.weight`);
    if (L.weight.length !== L.in * L.out)
      fail(DIMENSION_MISMATCH, `${p}.weight`, `must have out * in = ${L.in * L.out} values, got ${L.weight.length}`);
    if (L.bias !== undefined) {
      finiteArray(L.bias, `${p}.bias`);
      if (L.bias.length !== L.out)
        fail(DIMENSION_MISMATCH, `${p}.bias`, `must have out = ${L.out} values, got ${L.bias.length}`);
    }
    if (!ACTIVATIONS.includes(L.activation))
      fail(INVALID_ARGUMENT, `${p}.activation`, `must be one of ${ACTIVATIONS.join(', ')}`);
    if (L.activation === 'softmax' && i !== layers.length - 1)
      fail(INVALID_ARGUMENT, `${p}.activation`, 'softmax is only allowed on the last layer');
  });
  const dims: [number, number] = [layers[0]!.in, layers[layers.length - 1]!.out];
  validWeights.set(w as MlpWeights, dims);
  return dims;
}
