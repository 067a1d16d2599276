// A large manifold's search graph saved beside its file and read back instead of rebuilt: the
// loaded manifold searches through the same graph (same neighbours, same scores), a re-save
// replaces the graph file, a manifold whose ids no longer number its points 0, 1, … saves none,
// and a damaged, truncated, missing, foreign or misplaced graph file is refused with a typed error
// before usearch reads it (usearch reads a damaged file unchecked and can crash the process).
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadUsearch } from '../src/compute/index.js';
import { ArbiterError, ErrorCodes } from '../src/index.js';
import { loadManifold, Manifold, saveManifold } from '../src/manifold/index.js';
import { availableBackends, Random, SEED } from './helpers.js';

const backend = availableBackends()[0]!;
const D = 24;

function rows(r: Random, n: number, centres: Float32Array[]): Float32Array {
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(r.uniform() * centres.length)]!;
    const noise = r.normal(D);
    const row = c.map((x, j) => x + 0.5 * noise[j]!);
    const norm = Math.hypot(...row);
    out.set(
      row.map((x) => x / norm),
      i * D,
    );
  }
  return out;
}

async function manifold(seed: number, n: number, options: { capacity?: number } = {}) {
  const r = new Random(seed);
  const centres = Array.from({ length: 20 }, () => r.normal(D));
  const data = rows(r, n, centres);
  const m = new Manifold(backend, { dim: D, dtype: 'f32', approximate: { from: 500 }, ...options });
  await m.add(
    Array.from({ length: n }, (_, i) => ({
      embedding: data.slice(i * D, (i + 1) * D),
      task: i % 3 ? 'code' : 'math',
      outcomes: { a: i % 2, b: i % 5 ? 1 : 0 },
    })),
  );
  return { m, queries: rows(r, 64, centres), draw: (k: number) => rows(r, k, centres) };
}

const graphFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.hnsw')).sort();

/** Rewrites a manifold file's header JSON (and its trailing checksum, so only the header is in question). */
async function withHeader(file: string, edit: (h: Record<string, unknown>) => void): Promise<void> {
  const buf = await readFile(file);
  const hlen = buf.readUInt32LE(8);
  const h = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as Record<string, unknown>;
  edit(h);
  const header = Buffer.from(JSON.stringify(h));
  const body = Buffer.concat([buf.subarray(0, 8), Buffer.alloc(4), header, buf.subarray(12 + hlen, buf.length - 32)]);
  body.writeUInt32LE(header.length, 8);
  const out = Buffer.concat([body, createHash('sha256').update(body).digest()]);
  await writeFile(file, out);
}

const refused = async (p: Promise<unknown>, pattern: RegExp) => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ArbiterError);
  expect((e as ArbiterError).code).toBe(ErrorCodes.INVALID_ARGUMENT);
  expect((e as Error).message).toMatch(pattern);
};

describe.skipIf(!loadUsearch())('a manifold file with its search graph', () => {
  it('is read back with the same graph: same neighbours and scores, votes equal', async () => {
    const { m, queries } = await manifold(SEED + 71, 2000);
    expect(m.searchesExactly).toBe(false);
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-graph-'));
    const file = join(dir, 'm.arbm');
    const { graph } = await saveManifold(m, file);
    expect(graph).not.toBeNull();
    expect(graph!.file).toMatch(/^m\.arbm\.[0-9a-f]{16}\.hnsw$/);
    expect(await graphFiles(dir)).toEqual([graph!.file]);
    const bytes = await readFile(join(dir, graph!.file));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(graph!.sha256);
    expect(bytes.length).toBe(graph!.bytes);

    const back = await loadManifold(file, backend);
    expect(back.size).toBe(2000);
    expect(back.searchesExactly).toBe(false); // below the default 50,000 rows: only a loaded graph searches
    const [a, b] = [await m.searchIndex.search(queries, 16, 'cos'), await back.searchIndex.search(queries, 16, 'cos')];
    expect(Array.from(b.ids, Number)).toEqual(Array.from(a.ids, Number));
    for (let i = 0; i < a.scores.length; i++) expect(Math.abs(b.scores[i]! - a.scores[i]!)).toBeLessThan(1e-6);
    const [va, vb] = [await m.vote(queries), await back.vote(queries)];
    expect(vb.map((v) => v.task)).toEqual(va.map((v) => v.task));
    expect(vb.map((v) => v.quality)).toEqual(va.map((v) => v.quality));
    m.free();
    back.free();
  });

  it('follows adds after loading, and a re-save replaces the graph file', async () => {
    const { m, draw } = await manifold(SEED + 72, 1200);
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-graph-'));
    const file = join(dir, 'm.arbm');
    const first = (await saveManifold(m, file)).graph!;
    const back = await loadManifold(file, backend);
    const more = draw(300);
    await back.add(
      Array.from({ length: 300 }, (_, i) => ({ embedding: more.slice(i * D, (i + 1) * D), task: 'code' })),
    );
    for (const probe of [1250, 1499, 7]) {
      const q = back.embeddingOf(probe)!;
      // new rows are in the graph, old ones still found (among the 8 nearest: the search is
      // approximate, and a row misses itself as the first now and then)
      const s = await back.searchIndex.search(q, 8, 'cos');
      expect(Array.from(s.ids, Number)).toContain(probe);
    }
    const second = (await saveManifold(back, file)).graph!;
    expect(second.file).not.toBe(first.file);
    expect(await graphFiles(dir)).toEqual([second.file]); // the file the old manifold named is gone
    const again = await loadManifold(file, backend);
    expect(again.size).toBe(1500);
    expect(again.searchesExactly).toBe(false);
    for (const x of [m, back, again]) x.free();
  });

  it('saves of one file at once run one after another: the file and the one graph left agree', async () => {
    const { m, draw } = await manifold(SEED + 76, 900);
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-graph-'));
    const file = join(dir, 'm.arbm');
    const more = draw(50);
    const saves = [saveManifold(m, file), saveManifold(m, join(dir, '.', 'm.arbm'))];
    await m.add(Array.from({ length: 50 }, (_, i) => ({ embedding: more.slice(i * D, (i + 1) * D) })));
    saves.push(saveManifold(m, file));
    const graphs = (await Promise.all(saves)).map((s) => s.graph!.file);
    expect(await graphFiles(dir)).toEqual([graphs[2]]);
    const back = await loadManifold(file, backend);
    expect([back.size, back.searchesExactly]).toEqual([950, false]);
    m.free();
    back.free();
  });

  it('is not saved once ids no longer number the points 0, 1, … (the loaded manifold builds its own)', async () => {
    const { m, draw } = await manifold(SEED + 73, 1000, { capacity: 1000 });
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-graph-'));
    const file = join(dir, 'm.arbm');
    expect((await saveManifold(m, file)).graph).not.toBeNull();
    const more = draw(10);
    await m.add(Array.from({ length: 10 }, (_, i) => ({ embedding: more.slice(i * D, (i + 1) * D) }))); // evicts 0..9
    expect(m.size).toBe(1000);
    const { graph } = await saveManifold(m, file);
    expect(graph).toBeNull();
    expect(await graphFiles(dir)).toEqual([]); // the stale graph is removed with the file that named it
    const back = await loadManifold(file, backend);
    expect(back.size).toBe(1000);
    expect(back.searchesExactly).toBe(true); // 1,000 rows, under the default threshold: exact
    const q = more.slice(0, D);
    expect((await back.vote(q))[0]!.neighbours.scores[0]).toBeGreaterThan(0.999);
    m.free();
    back.free();
  });

  it('refuses a damaged, truncated, missing, foreign or misplaced graph with a typed error', async () => {
    const { m } = await manifold(SEED + 74, 800);
    const { m: other } = await manifold(SEED + 75, 700);
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-graph-'));
    const file = join(dir, 'm.arbm');
    const { graph } = await saveManifold(m, file);
    const gpath = join(dir, graph!.file);
    const good = await readFile(gpath);
    await copyFile(file, join(dir, 'pristine.arbm'));

    const flipped = Buffer.from(good);
    flipped[flipped.length >> 1]! ^= 0x55;
    await writeFile(gpath, flipped);
    await refused(loadManifold(file, backend), /checksum mismatch/);

    await writeFile(gpath, good);
    await truncate(gpath, good.length - 100);
    await refused(loadManifold(file, backend), /bytes, \d+ expected/);

    await writeFile(gpath, Buffer.alloc(good.length, 7)); // same size, junk: what would crash usearch
    await refused(loadManifold(file, backend), /checksum mismatch/);

    await writeFile(gpath, good);
    await copyFile(gpath, join(dir, 'keep.hnsw'));
    await rm(gpath);
    await refused(loadManifold(file, backend), /cannot read \(ENOENT\)/);
    await copyFile(join(dir, 'keep.hnsw'), gpath);
    expect((await loadManifold(file, backend)).size).toBe(800); // intact again: loads

    // another manifold's graph, named with its own size and checksum: not the graph of these rows
    const otherDir = await mkdtemp(join(tmpdir(), 'arbiter-graph-'));
    const og = (await saveManifold(other, join(otherDir, 'o.arbm'))).graph!;
    await copyFile(join(otherDir, og.file), join(dir, og.file));
    await withHeader(file, (h) => (h.graph = og));
    await refused(loadManifold(file, backend), /is not the graph of these rows \(700 rows/);

    for (const bad of ['../m.arbm.hnsw', '/tmp/x.hnsw', 'm.arbm.bin', 7]) {
      await copyFile(join(dir, 'pristine.arbm'), file);
      await withHeader(file, (h) => (h.graph = { ...graph!, file: bad }));
      await refused(loadManifold(file, backend), /header: graph must name a \.hnsw file/);
    }
    await copyFile(join(dir, 'pristine.arbm'), file);
    await withHeader(file, (h) => (h.graph = { ...graph!, sha256: 'beef' }));
    await refused(loadManifold(file, backend), /header: graph must name/);
    m.free();
    other.free();
  });
});
