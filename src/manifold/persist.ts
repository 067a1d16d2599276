/**
 * Manifold files, version 1 (little-endian):
 *   "ARBM" | u32 version | u32 header bytes | header JSON (dim, capacity, mergeThreshold,
 *   models, tasks, n, graph?) padded with spaces so the blocks after it start at multiples of 4
 *   (files written before the padding load too) | f32 embeddings n x dim | f32 outcomes
 *   n x models (NaN = unknown) |
 *   f32 counts n x models | i32 task n (-1 = none) | u8 kind n (0 reference, 1 feedback) |
 *   padding to 4 bytes | sha256 of everything before it (32 bytes).
 * Written to a temporary file and renamed, so a crash never leaves half a file.
 *
 * A manifold large enough to search through its approximate graph saves the graph beside it
 * (`<name>.<first 16 hex digits of its sha256>.hnsw`, usearch's format) and names it in the
 * header (`graph`: file, bytes, sha256): loading checks it and reads it instead of building it
 * (minutes at 10^6 points). The graph file is in place before the manifold file that names it,
 * and graph files of this name that the new manifold file does not name are removed after it.
 */
import { createHash } from 'node:crypto';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { readWhole } from '../files.js';
import type { ComputeBackend, SavedGraph } from '../compute/index.js';
import { Manifold } from './manifold.js';

const MAGIC = 'ARBM';
const VERSION = 1;
const LITTLE_ENDIAN = endianness() === 'LE';
/** Numbers this process's temporary files apart (two saves at once each write their own). */
let saves = 0;

/** The header's record of a graph file: its path is relative to the manifold file's folder. */
export type ManifoldGraphFile = SavedGraph;

/** What a save wrote: the manifold file's size and SHA-256 (for a manifest), and the graph file it named. */
export interface SavedManifold {
  bytes: number;
  sha256: string;
  graph: ManifoldGraphFile | null;
}

/** Saves in progress by path: saves of one file run one after another (see saveManifold). */
const inProgress = new Map<string, Promise<unknown>>();

/**
 * Writes a manifold file, and its graph file when it has one; says what it wrote (a model folder's
 * manifest records both without reading them back).
 * Saves of one path in this process run one after another, each of the manifold as it is when its
 * turn comes (at once, the second's clean-up could remove the graph file the first names).
 */
export function saveManifold(m: Manifold, path: string): Promise<SavedManifold> {
  const key = resolve(path);
  const before = inProgress.get(key);
  const run = before ? before.then(done, done).then(() => write(m, path)) : write(m, path);
  inProgress.set(key, run);
  const forget = () => {
    if (inProgress.get(key) === run) inProgress.delete(key);
  };
  run.then(forget, forget);
  return run;
}
const done = () => undefined;

async function write(m: Manifold, path: string): Promise<SavedManifold> {
  const dir = dirname(path);
  const name = basename(path);
  const save = ++saves;
  const staged = `${path}.graph-${process.pid}-${save}`;
  // saveGraph writes the graph before its first await and columns() is synchronous: both are of
  // the same points, whatever feedback arrives while the files are written
  const saving = m.saveGraph(staged);
  const s = m.columns();
  let graph: ManifoldGraphFile | null = null;
  try {
    const saved = await saving;
    if (saved) {
      graph = { file: `${name}.${saved.sha256.slice(0, 16)}.hnsw`, bytes: saved.bytes, sha256: saved.sha256 };
      await rename(staged, join(dir, graph.file));
    }
  } finally {
    await rm(staged, { force: true });
  }
  const n = s.points.ids.length;
  const M = s.models.length;
  const json = Buffer.from(
    JSON.stringify({
      dim: s.dim,
      capacity: s.capacity,
      mergeThreshold: s.mergeThreshold,
      models: s.models,
      tasks: s.tasks,
      n,
      ...(graph ? { graph } : {}),
    }),
  );
  // spaces after the JSON (which JSON.parse skips) put the float blocks at multiples of 4 bytes,
  // so a reader can take them as views instead of copying them
  const header = Buffer.concat([json, Buffer.alloc((4 - ((12 + json.length) % 4)) % 4, ' ')]);
  const body = 12 + header.length + 4 * (n * s.dim + 2 * n * M + n) + n;
  const pad = (4 - (body % 4)) % 4;
  const buf = Buffer.alloc(body + pad + 32);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(VERSION, 4);
  buf.writeUInt32LE(header.length, 8);
  header.copy(buf, 12);
  let o = 12 + header.length;
  // one copy per column on a little-endian machine (the file's order), value by value elsewhere
  const put = (col: Float32Array | Int32Array | Uint8Array) => {
    if (LITTLE_ENDIAN || col instanceof Uint8Array) {
      buf.set(new Uint8Array(col.buffer, col.byteOffset, col.byteLength), o);
      o += col.byteLength;
    } else if (col instanceof Float32Array) for (const x of col) o = buf.writeFloatLE(x, o);
    else for (const x of col) o = buf.writeInt32LE(x, o);
  };
  put(s.embeddings);
  put(s.points.outcomes);
  put(s.points.counts);
  put(s.points.tasks);
  put(s.points.kinds);
  o += pad;
  createHash('sha256').update(buf.subarray(0, o)).digest().copy(buf, o);
  const tmp = `${path}.tmp-${process.pid}-${save}`;
  await writeFile(tmp, buf);
  await rename(tmp, path);
  for (const f of await readdir(dir))
    if (f.startsWith(`${name}.`) && f.endsWith('.hnsw') && f !== graph?.file) await rm(join(dir, f), { force: true });
  return { bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex'), graph };
}

/**
 * Loads a manifold file. `checked.bytes`: the file's contents already read and checked whole
 * against a model manifest's SHA-256 (a router model folder): not read again, and its own trailing
 * digest, which that check covers, not computed again (a second full read and hash of the file:
 * ~8 ms of the ~60 ms a 10,000-point router model takes to load).
 */
export async function loadManifold(
  path: string,
  backend: ComputeBackend,
  checked?: { bytes: Buffer },
): Promise<Manifold> {
  const fail = (msg: string): never => {
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `manifold file ${path}: ${msg}`, { param: 'path' });
  };
  let buf: Buffer;
  if (checked) buf = checked.bytes;
  else
    try {
      buf = await readWhole(path);
    } catch (e) {
      return fail(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  if (buf.length < 44 || buf.toString('latin1', 0, 4) !== MAGIC) fail('not a manifold file');
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) fail(`version ${version} is not supported (this build reads version ${VERSION})`);
  if (!checked) {
    const digest = createHash('sha256')
      .update(buf.subarray(0, buf.length - 32))
      .digest();
    if (!digest.equals(buf.subarray(buf.length - 32))) fail('checksum mismatch (corrupt or truncated)');
  }
  const hlen = buf.readUInt32LE(8);
  let h: {
    dim: number;
    capacity: number;
    mergeThreshold: number;
    models: string[];
    tasks: string[];
    n: number;
    graph?: ManifoldGraphFile;
  };
  try {
    h = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as typeof h;
  } catch {
    return fail('unreadable header');
  }
  const { dim, n, models, tasks } = h;
  const M = models.length;
  const need = 12 + hlen + 4 * (n * dim + 2 * n * M + n) + n;
  if (buf.length < need + 32) fail('shorter than its header says');
  const graph = h.graph === undefined ? undefined : graphBeside(path, h.graph, fail);
  const m = new Manifold(backend, {
    dim,
    capacity: h.capacity,
    mergeThreshold: h.mergeThreshold,
    models,
    ...(graph ? { approximate: { prebuilt: graph } } : {}),
  });
  let o = 12 + hlen;
  // one copy per block on a little-endian machine (the file's order), value by value elsewhere
  // on a little-endian machine a view of the file's bytes when they sit at a multiple of 4 (files
  // written since the header is padded), else one copy; value by value elsewhere. Views are safe:
  // restore copies every row it keeps (the index its embeddings, each point its outcomes)
  const f32 = (count: number) => {
    const at = buf.byteOffset + o;
    if (LITTLE_ENDIAN && at % 4 === 0) {
      o += 4 * count;
      return new Float32Array(buf.buffer, at, count);
    }
    const out = new Float32Array(count);
    if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(buf.subarray(o, (o += 4 * count)));
    else for (let i = 0; i < count; i++, o += 4) out[i] = buf.readFloatLE(o);
    return out;
  };
  const embeddings = f32(n * dim);
  const outcomes = f32(n * M);
  const counts = f32(n * M);
  const taskIds = Array.from({ length: n }, (_, i) => buf.readInt32LE(o + 4 * i));
  o += 4 * n;
  if (taskIds.some((t) => t >= tasks.length)) fail('a point names a task the header does not list');
  await m.restore({
    embeddings,
    tasks: taskIds.map((t) => (t >= 0 ? tasks[t] : undefined)),
    outcomes,
    counts,
    kinds: Array.from({ length: n }, (_, i) => (buf[o + i] === 1 ? 'feedback' : 'reference')),
  });
  return m;
}

/** The graph file a manifold header names, checked for form (ApproximateIndex checks its contents). */
function graphBeside(path: string, g: ManifoldGraphFile, fail: (msg: string) => never): SavedGraph {
  if (!(
    typeof g?.file === 'string' &&
    basename(g.file) === g.file &&
    g.file.endsWith('.hnsw') &&
    Number.isSafeInteger(g.bytes) &&
    g.bytes > 0 &&
    /^[0-9a-f]{64}$/.test(String(g.sha256))
  ))
    fail('header: graph must name a .hnsw file in the same folder, its bytes and its sha256');
  return { file: join(dirname(path), g.file), bytes: g.bytes, sha256: g.sha256 };
}
