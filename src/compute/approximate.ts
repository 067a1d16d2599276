/**
 * An approximate nearest-neighbour index for large manifolds: an HNSW graph (usearch) over an
 * exact index that keeps the rows. Below `from` rows the graph does not exist and every search
 * is exact; the add that reaches `from` builds it from the stored rows, and from then on it
 * follows every add and remove. Cosine searches go through the graph; other metrics, and any
 * search while the graph is unavailable, stay exact. usearch's calls block: work is cut into
 * slices with a yield to the event loop between them, so a large build or batch does not starve
 * the process. Recall against exact search: bench/ann.ts, test/approximate.test.ts.
 *
 * A graph is saved with `saveGraph` (usearch's file, keys = the rows' ids) and given back to a new
 * index over the same rows as `prebuilt`: the add that would build it loads it instead, after its
 * size and SHA-256 are checked (usearch reads a damaged file without checks and can crash the
 * process), so a large manifold loads in seconds, not the minutes a build takes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

import type * as UsearchModule from 'usearch';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { sha256File } from '../files.js';
import type { Ids, Metric, SearchResult, VectorIndex } from './types.js';

type Usearch = typeof UsearchModule;
type Graph = InstanceType<Usearch['Index']>;

let usearch: Usearch | null | undefined;
/** usearch when its prebuilt binary loads here, else null (the index then stays exact). */
export function loadUsearch(): Usearch | null {
  if (usearch === undefined) {
    try {
      usearch = createRequire(import.meta.url)('usearch') as Usearch;
    } catch {
      usearch = null;
    }
  }
  return usearch;
}

export interface ApproximateOptions {
  /** Rows from which the graph is built (default 50,000: below it exact search is as fast). */
  from?: number;
  /** HNSW neighbours per node (default 16). */
  connectivity?: number;
  /** Candidates kept while inserting (default 64). */
  expansionAdd?: number;
  /** Candidates kept while searching (default 32: recall against speed, docs/benchmarks.md). */
  expansionSearch?: number;
  /** Threads for the graph's work (default: all cores). */
  threads?: number;
  /**
   * A graph saved by `saveGraph` from an index over the same rows with the same ids: loaded, not
   * built, by the add that would build the graph (checked first: size, SHA-256, then dimensions,
   * row count and every id). Connectivity and expansion while adding are the saved graph's.
   */
  prebuilt?: SavedGraph;
}

/** A saved graph file and what it must be. */
export interface SavedGraph {
  file: string;
  bytes: number;
  sha256: string;
}

/** Rows per blocking usearch call between yields. */
const SLICE = 2048;

export class ApproximateIndex implements VectorIndex {
  private graph: Graph | null = null;
  /** While the graph is built (with yields), what changed meanwhile: applied when it is done. */
  private building: { adds: Array<{ ids: number[]; vectors: Float32Array }>; removed: number[] } | null = null;
  private readonly ids = new Set<number>();
  private readonly from: number;
  private readonly threads: number;

  private readonly options: ApproximateOptions;
  private prebuilt: SavedGraph | undefined;

  constructor(
    /** The exact index that keeps the rows (and answers while the graph is not active). */
    readonly exact: VectorIndex,
    options: ApproximateOptions = {},
  ) {
    this.options = { ...options };
    this.from = options.from ?? 50_000;
    this.threads = options.threads ?? availableParallelism();
    this.prebuilt = options.prebuilt;
  }

  get dim(): number {
    return this.exact.dim;
  }
  get dtype() {
    return this.exact.dtype;
  }
  get idType() {
    return this.exact.idType;
  }
  get backend() {
    return this.exact.backend;
  }
  get size(): number {
    return this.exact.size;
  }
  /** Whether searches go through the graph now. */
  get approximate(): boolean {
    return this.graph !== null;
  }

  async add(ids: Ids, vectors: Float32Array): Promise<void> {
    await this.exact.add(ids, vectors); // validates (shape, finiteness, duplicate ids) before anything changes
    const list = Array.from(ids, Number);
    for (const id of list) this.ids.add(id);
    if (this.graph) await this.insert(this.graph, list, vectors);
    else if (this.building) this.building.adds.push({ ids: list, vectors: vectors.slice() });
    else if (this.prebuilt && loadUsearch()) {
      try {
        await this.adopt(this.prebuilt);
      } catch (e) {
        // not the graph of these rows: this add is undone, so a refused add changes nothing
        await this.exact.remove(ids);
        for (const id of list) this.ids.delete(id);
        throw e;
      }
    } else if (this.exact.size >= this.from && loadUsearch()) await this.build();
  }

  async remove(ids: Ids): Promise<number> {
    const n = await this.exact.remove(ids);
    // which were here is read once the store has answered: an add of the same ids that the store
    // ran first has recorded them by then (its continuation runs before this one), so the graph
    // and the store agree whichever order a native store ran the two in
    const present = Array.from(ids, Number).filter((id) => this.ids.has(id));
    for (const id of present) this.ids.delete(id);
    if (this.graph && present.length) this.graph.remove(BigUint64Array.from(present, BigInt));
    else if (this.building) this.building.removed.push(...present);
    return n;
  }

  async search(queries: Float32Array, k: number, metric: Metric = 'ip'): Promise<SearchResult> {
    if (!this.graph || metric !== 'cos') return this.exact.search(queries, k, metric);
    const D = this.dim;
    if (!(queries instanceof Float32Array) || queries.length % D !== 0 || !(Number.isInteger(k) && k >= 1))
      return this.exact.search(queries, k, metric); // the exact index reports the bad argument
    const n = queries.length / D;
    const kk = Math.min(k, this.size);
    const ids = this.idType === 'i64' ? new BigInt64Array(n * kk) : new Int32Array(n * kk);
    const scores = new Float32Array(n * kk);
    for (let start = 0; start < n; start += SLICE) {
      const rows = Math.min(SLICE, n - start);
      const m = this.graph.search(queries.subarray(start * D, (start + rows) * D), kk, this.threads);
      // one query comes back as its matches alone (no counts, no padding)
      const r: { keys: BigUint64Array; distances: Float32Array; counts: ArrayLike<bigint> } =
        'counts' in m ? (m as typeof r) : { keys: m.keys, distances: m.distances, counts: [BigInt(m.keys.length)] };
      for (let q = 0; q < rows; q++) {
        const found = Number(r.counts[q]);
        for (let j = 0; j < kk; j++) {
          const at = (start + q) * kk + j;
          const hit = j < found;
          if (ids instanceof BigInt64Array) ids[at] = hit ? BigInt.asIntN(64, r.keys[q * kk + j]!) : -1n;
          else ids[at] = hit ? Number(r.keys[q * kk + j]) : -1;
          scores[at] = hit ? 1 - r.distances[q * kk + j]! : -Infinity; // usearch's cosine distance is 1 − cos
        }
      }
      if (start + rows < n) await yieldToLoop();
    }
    return { ids, scores, k: kk, n };
  }

  /**
   * Candidates kept while searching from now on (recall against speed). usearch sets it when an
   * index object is made, so the graph is written to a temporary file and read back with it.
   */
  setSearchExpansion(expansion: number): void {
    if (!Number.isInteger(expansion) || expansion < 1)
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `expansion must be a positive integer, got ${expansion}`, {
        param: 'expansion',
      });
    this.options.expansionSearch = expansion;
    if (!this.graph) return;
    const dir = mkdtempSync(join(tmpdir(), 'arbiter-hnsw-'));
    try {
      const file = join(dir, 'graph.usearch');
      this.graph.save(file);
      const next = this.newGraph();
      next.load(file);
      this.graph = next;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Writes the graph to `file` (a temporary file renamed into place) and returns its size and
   * SHA-256, or null when there is no graph (below `from` rows, usearch missing, or mid-build).
   */
  async saveGraph(file: string): Promise<SavedGraph | null> {
    if (!this.graph) return null;
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      this.graph.save(tmp);
      const [{ size }, sha256] = await Promise.all([stat(tmp), sha256File(tmp)]);
      await rename(tmp, file);
      return { file, bytes: size, sha256 };
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  get(id: number | bigint): Float32Array | null {
    return this.exact.get(id);
  }
  getRows(ids: Ids): Float32Array | null {
    return this.exact.getRows(ids);
  }

  free(): void {
    this.exact.free();
    this.graph = null;
    this.ids.clear();
  }

  /** The graph from every stored row, in slices; rows added or removed meanwhile follow at the end. */
  private async build(): Promise<void> {
    const graph = this.newGraph();
    const state: NonNullable<ApproximateIndex['building']> = { adds: [], removed: [] };
    this.building = state;
    try {
      const all = [...this.ids];
      const D = this.dim;
      for (let start = 0; start < all.length; start += SLICE) {
        const part: number[] = [];
        const rows = new Float32Array(Math.min(SLICE, all.length - start) * D);
        for (const id of all.slice(start, start + SLICE)) {
          const row = this.exact.get(id); // null: removed since the snapshot
          if (row) rows.set(row, part.push(id) * D - D);
        }
        if (part.length) graph.add(BigUint64Array.from(part, BigInt), rows.subarray(0, part.length * D), this.threads);
        await yieldToLoop();
      }
      for (const a of state.adds) await this.insert(graph, a.ids, a.vectors);
      if (state.removed.length) graph.remove(BigUint64Array.from(state.removed, BigInt));
      this.graph = graph;
    } finally {
      this.building = null;
    }
  }

  /**
   * Loads a saved graph in place of a build, once it is shown to be the graph of the rows stored
   * now; rows added or removed while it is checked follow at the end, as after a build. usearch's
   * load itself blocks (~1 s for a 630 MiB graph).
   */
  private async adopt(saved: SavedGraph): Promise<void> {
    this.prebuilt = undefined; // one try: a refused file is not read again by later adds
    const state: NonNullable<ApproximateIndex['building']> = { adds: [], removed: [] };
    this.building = state;
    const expected = BigUint64Array.from(this.ids, BigInt);
    const refuse = (why: string): never => {
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `graph file ${saved.file}: ${why}`, { param: 'graph' });
    };
    try {
      let bytes: number;
      try {
        bytes = (await stat(saved.file)).size;
      } catch (e) {
        return refuse(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      if (bytes !== saved.bytes) refuse(`has ${bytes} bytes, ${saved.bytes} expected`);
      if ((await sha256File(saved.file)) !== saved.sha256) refuse('checksum mismatch (corrupt or replaced)');
      const graph = this.newGraph();
      graph.load(saved.file);
      const present = expected.length ? graph.contains(expected) : true; // one key answers a boolean, more an array
      const all = Array.isArray(present) ? present.every(Boolean) : present;
      if (graph.dimensions() !== this.dim || graph.size() !== expected.length || !all)
        refuse(
          `is not the graph of these rows (${graph.size()} rows of ${graph.dimensions()}, ${expected.length} of ${this.dim} here)`,
        );
      for (const a of state.adds) await this.insert(graph, a.ids, a.vectors);
      if (state.removed.length) graph.remove(BigUint64Array.from(state.removed, BigInt));
      this.graph = graph;
    } finally {
      this.building = null;
    }
  }

  private newGraph(): Graph {
    const lib = loadUsearch()!;
    return new lib.Index({
      dimensions: this.dim,
      metric: lib.MetricKind.Cos,
      quantization: this.dtype === 'f16' ? lib.ScalarKind.F16 : lib.ScalarKind.F32,
      connectivity: this.options.connectivity ?? 16,
      expansion_add: this.options.expansionAdd ?? 64,
      expansion_search: this.options.expansionSearch ?? 32,
      multi: false,
    });
  }

  private async insert(graph: Graph, ids: readonly number[], vectors: Float32Array): Promise<void> {
    const D = this.dim;
    for (let start = 0; start < ids.length; start += SLICE) {
      const part = ids.slice(start, start + SLICE);
      graph.add(
        BigUint64Array.from(part, BigInt),
        vectors.subarray(start * D, (start + part.length) * D),
        this.threads,
      );
      if (start + SLICE < ids.length) await yieldToLoop();
    }
  }
}
