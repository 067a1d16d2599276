/**
 * The manifold: labelled reference prompts (embedding, task label, per-model outcomes in [0, 1])
 * held in a compute-backend index. kNN voting over a query's neighbours gives a task
 * distribution and, per model, a predicted quality with its uncertainty.
 *
 * Online learning, bounded memory: feedback for a prompt whose nearest point is a near-duplicate
 * (cosine >= mergeThreshold) is merged into that point (a running mean per model over its last
 * ~MERGE_MEMORY outcomes); otherwise it
 * becomes a new feedback point. When the manifold is over capacity the oldest feedback point is
 * evicted first; reference points (from training) are evicted only when nothing else is left.
 */
import { ArbiterError, ErrorCodes, fail } from '../errors.js';
import {
  ApproximateIndex,
  type ApproximateOptions,
  type ComputeBackend,
  type SavedGraph,
  type SearchResult,
  type VectorIndex,
} from '../compute/index.js';
import { dict, isTaskName, RESERVED_NAMES } from '../names.js';
import { pointKind, PointStore, type PointKind } from './points.js';

export type { PointKind } from './points.js';

/** Outcomes a merged point's mean remembers at full weight; past it, an exponentially weighted mean (α = 1/(1 + this)). */
export const MERGE_MEMORY = 20;

export interface ManifoldOptions {
  dim: number;
  /** Model ids whose outcomes are tracked (more can be added later with addModel). */
  models?: string[];
  /** Most points kept (reference + feedback). */
  capacity?: number;
  /** Feedback this close (cosine) to an existing point is merged into it. */
  mergeThreshold?: number;
  /**
   * Storage of the embeddings in the index: 'f16' (default) halves memory and the bytes each
   * search streams (cosine scores move by < 4e-3, far below what changes a vote); 'f32' keeps them exact.
   */
  dtype?: 'f16' | 'f32';
  /**
   * 'auto' (default): exact search until the manifold holds `approximate.from` points (50,000),
   * then an HNSW graph (recall@16 against exact: docs/benchmarks.md); 'exact': always exact.
   */
  index?: 'auto' | 'exact';
  approximate?: ApproximateOptions;
}

export interface PointInput {
  embedding: Float32Array;
  task?: string;
  /** Outcome per model id, in [0, 1] (0/1 correctness, or a normalised judge score). */
  outcomes?: Record<string, number>;
}

export interface Vote {
  /** Task distribution over labelled neighbours (empty when none has a label). */
  task: { label: string | null; confidence: number; distribution: Record<string, number> };
  /** Per model: weighted mean outcome of neighbours that have one, its standard error, and effective sample size. */
  quality: Record<string, { mean: number; stderr: number; nEff: number }>;
  neighbours: { ids: Int32Array; scores: Float32Array };
}

export class Manifold {
  readonly dim: number;
  readonly capacity: number;
  readonly mergeThreshold: number;
  private readonly index: VectorIndex;
  private models: string[];
  private readonly modelIdx = new Map<string, number>();
  private readonly taskNames: string[] = [];
  private readonly taskIdx = new Map<string, number>();
  // per point, by id, in insertion order (the embeddings themselves live only in the index)
  private readonly points = new PointStore();
  /** Feedback point ids, oldest first: the eviction queue. */
  private readonly feedbackOrder = new Set<number>();
  private nextId = 0;

  constructor(
    readonly backend: ComputeBackend,
    options: ManifoldOptions,
  ) {
    this.dim = options.dim;
    this.capacity = options.capacity ?? 100_000;
    this.mergeThreshold = options.mergeThreshold ?? 0.97;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) fail('options.capacity', 'must be a positive integer');
    if (!(this.mergeThreshold > 0 && this.mergeThreshold <= 1)) fail('options.mergeThreshold', 'must be in (0, 1]');
    const exact = backend.createIndex({ dim: options.dim, dtype: options.dtype ?? 'f16' });
    this.index = options.index === 'exact' ? exact : new ApproximateIndex(exact, options.approximate);
    this.models = [];
    for (const m of options.models ?? []) this.addModel(m);
  }

  get size(): number {
    return this.points.size;
  }

  /** Candidates an approximate search keeps from now on (recall against speed); no effect while exact. */
  setSearchExpansion(expansion: number): void {
    if (this.index instanceof ApproximateIndex) this.index.setSearchExpansion(expansion);
  }
  get modelIds(): readonly string[] {
    return this.models;
  }
  get tasks(): readonly string[] {
    return this.taskNames;
  }
  count(kind: PointKind): number {
    return kind === 'feedback' ? this.feedbackOrder.size : this.points.size - this.feedbackOrder.size;
  }

  /** Gives a tracked model another id (its outcomes kept): a router model's names mapped to a config's. */
  renameModel(from: string, to: string): void {
    const i = this.modelIdx.get(from);
    if (i === undefined) fail('model', `no model ${JSON.stringify(from)} here (have: ${this.models.join(', ')})`);
    if (from === to) return;
    if (this.modelIdx.has(to)) fail('model', `${JSON.stringify(to)} is already a model here`);
    this.modelIdx.delete(from);
    this.modelIdx.set(to, i);
    this.models = this.models.map((m, j) => (j === i ? to : m));
  }

  /** Tracks outcomes of another model (a new model starts with none: it learns from feedback). */
  addModel(id: string): void {
    if (typeof id !== 'string' || id.length === 0) fail('model', 'must be a non-empty string');
    if (this.modelIdx.has(id)) return;
    this.modelIdx.set(id, this.models.length);
    this.models = [...this.models, id];
    this.points.widen(this.models.length);
  }

  private taskId(task: string | undefined): number {
    if (task === undefined) return -1;
    if (!isTaskName(task))
      fail('task', `must be a lower-case word (not ${RESERVED_NAMES.join(', ')}), got ${JSON.stringify(task)}`);
    let t = this.taskIdx.get(task);
    if (t === undefined) {
      t = this.taskNames.length;
      this.taskNames.push(task);
      this.taskIdx.set(task, t);
    }
    return t;
  }

  private outcomeRow(outcomes: Record<string, number> | undefined, param: string): Float32Array {
    const entries = Object.entries(outcomes ?? {});
    for (const [model, q] of entries) {
      if (typeof q !== 'number' || !(q >= 0 && q <= 1))
        fail(`${param}.${model}`, `must be a number in [0, 1], got ${String(q)}`);
      if (!this.modelIdx.has(model)) this.addModel(model);
    }
    // sized once every model named is tracked: a row sized before took no outcome of a model its
    // own point introduced (a first outcome that added a point was lost)
    const row = new Float32Array(this.models.length).fill(NaN);
    for (const [model, q] of entries) row[this.modelIdx.get(model)!] = q;
    return row;
  }

  private checkEmbedding(e: unknown, param: string): Float32Array {
    if (!(e instanceof Float32Array) || e.length !== this.dim)
      fail(param, `must be a Float32Array of length ${this.dim}`);
    const v = e as Float32Array;
    for (const x of v)
      if (!Number.isFinite(x))
        throw new ArbiterError(ErrorCodes.NOT_FINITE, `${param} contains a non-finite value`, { param });
    return v;
  }

  /** Adds reference points (training data). Validates all before adding any. Returns their ids. */
  async add(points: readonly PointInput[], kind: PointKind = 'reference'): Promise<number[]> {
    if (!Array.isArray(points)) fail('points', 'must be an array');
    const rows = points.map((p, i) => {
      const embedding = this.checkEmbedding(p?.embedding, `points[${i}].embedding`);
      if (p.task !== undefined && !isTaskName(p.task)) fail(`points[${i}].task`, 'must be a lower-case word');
      for (const [m, q] of Object.entries(p.outcomes ?? {}))
        if (typeof q !== 'number' || !(q >= 0 && q <= 1))
          fail(`points[${i}].outcomes.${m}`, `must be a number in [0, 1], got ${String(q)}`);
      return embedding;
    });
    const ids = points.map(() => this.nextId++);
    const flat = new Float32Array(points.length * this.dim);
    rows.forEach((e, i) => flat.set(e, i * this.dim));
    await this.index.add(Int32Array.from(ids), flat);
    points.forEach((p, i) => {
      const outcomes = this.outcomeRow(p.outcomes, `points[${i}].outcomes`);
      const counts = new Float32Array(this.models.length).map((_, m) => (Number.isNaN(outcomes[m]!) ? 0 : 1));
      this.points.append([ids[i]!], [kind], [this.taskId(p.task)], outcomes, counts, outcomes.length);
      if (kind === 'feedback') this.feedbackOrder.add(ids[i]!);
    });
    await this.evict();
    return ids;
  }

  /** The index the manifold searches (for the fused routing pass). */
  get searchIndex(): VectorIndex {
    return this.index;
  }

  /** Whether a search now is exact (false once an approximate graph answers). */
  get searchesExactly(): boolean {
    return !(this.index instanceof ApproximateIndex && this.index.approximate);
  }

  /** kNN vote for each of n queries (n x dim). Neighbour weights: max(cosine, 0)^2. */
  async vote(queries: Float32Array, k = 16): Promise<Vote[]> {
    if (!(queries instanceof Float32Array) || queries.length % this.dim !== 0)
      fail('queries', `must be a Float32Array of n x ${this.dim}`);
    return this.votesFrom(await this.index.search(queries, k, 'cos'));
  }

  /** The votes of a search already made over this manifold's index (the fused routing pass searches natively). */
  votesFrom(res: Pick<SearchResult, 'ids' | 'scores' | 'k' | 'n'>): Vote[] {
    const out: Vote[] = [];
    for (let q = 0; q < res.n; q++) out.push(this.voteAt(res, q));
    return out;
  }

  /**
   * The vote of query q of such a search, made when asked: a router makes each prompt's as it
   * decides it, so a batch's votes die young instead of living through the batch (on the route
   * bench's batches of 512, the collector's scavenges copied them). Neighbours evicted since the
   * search are skipped.
   */
  voteAt(res: Pick<SearchResult, 'ids' | 'scores' | 'k' | 'n'>, q: number): Vote {
    const M = this.models.length;
    const W = this.points.width; // = M
    const outcomes = this.points.outcomes;
    const counts = this.points.counts;
    // per model: Σw, Σw², Σw·o, Σw·o²
    const acc = new Float64Array(4 * M);
    const taskW = new Float64Array(this.taskNames.length);
    // views of the search's arrays (made for this call, never reused): no copy, no new buffer
    const ids = (res.ids as Int32Array).subarray(q * res.k, (q + 1) * res.k);
    const scores = res.scores.subarray(q * res.k, (q + 1) * res.k);
    let taskTotal = 0;
    const named: number[] = []; // tasks in the order the neighbours first name them
    for (let j = 0; j < ids.length; j++) {
      const s = this.points.slot(ids[j]!);
      if (s < 0) continue; // removed (evicted, or merged away) since the search: feedback is concurrent
      const w = Math.max(0, scores[j]!) ** 2;
      if (w === 0) continue;
      const task = this.points.task(s);
      if (task >= 0) {
        if (!named.includes(task)) named.push(task);
        taskW[task]! += w;
        taskTotal += w;
      }
      for (let m = 0; m < W; m++) {
        const o = outcomes[s * W + m]!;
        if (Number.isNaN(o)) continue;
        const wm = w * Math.min(counts[s * W + m]!, 10) ** 0.5; // merged feedback counts a little more
        acc[4 * m]! += wm;
        acc[4 * m + 1]! += wm * wm;
        acc[4 * m + 2]! += wm * o;
        acc[4 * m + 3]! += wm * o * o;
      }
    }
    // the distribution's keys in that order; the label is the first of the largest shares
    const distribution: Record<string, number> = dict();
    let label: string | null = null;
    let best = 0;
    for (const t of named) {
      const share = taskW[t]! / taskTotal;
      distribution[this.taskNames[t]!] = share;
      if (label === null || share > best) {
        label = this.taskNames[t]!;
        best = share;
      }
    }
    const quality: Vote['quality'] = {};
    for (let i = 0; i < M; i++) {
      const w = acc[4 * i]!;
      if (w === 0) continue;
      const mean = acc[4 * i + 2]! / w;
      const nEff = (w * w) / acc[4 * i + 1]!;
      const variance = Math.max(0, acc[4 * i + 3]! / w - mean * mean);
      quality[this.models[i]!] = { mean, stderr: Math.sqrt((variance + 1 / 12) / (nEff + 1)), nEff };
    }
    return { task: { label, confidence: best, distribution }, quality, neighbours: { ids, scores } };
  }

  /**
   * Learns from one outcome: merges into the nearest point when it is a near-duplicate, else adds
   * a feedback point; then evicts past capacity. Returns what it did.
   */
  async feedback(input: {
    embedding: Float32Array;
    model: string;
    quality: number;
    task?: string;
  }): Promise<{ merged: boolean; id: number }> {
    const e = this.checkEmbedding(input?.embedding, 'embedding');
    if (typeof input.model !== 'string' || !input.model) fail('model', 'must be a non-empty string');
    if (typeof input.quality !== 'number' || !(input.quality >= 0 && input.quality <= 1))
      fail('quality', `must be a number in [0, 1], got ${String(input.quality)}`);
    if (input.task !== undefined) this.taskId(input.task); // validates
    if (this.size > 0) {
      const near = await this.index.search(e, 1, 'cos');
      const id = Number(near.ids[0]);
      // (a point evicted while the search ran is not merged into: the outcome becomes a point)
      if (near.scores[0]! >= this.mergeThreshold && this.points.has(id)) {
        this.addModel(input.model); // may widen the columns: the slot and arrays are read after it
        const s = this.points.slot(id);
        const at = s * this.points.width + this.modelIdx.get(input.model)!;
        const outcomes = this.points.outcomes;
        const counts = this.points.counts;
        const c = counts[at]!;
        // a running mean over the point's last ~MERGE_MEMORY outcomes: a model that changed is
        // re-learned there, not outvoted by everything it did before
        const w = Math.min(c, MERGE_MEMORY);
        outcomes[at] = c === 0 ? input.quality : (outcomes[at]! * w + input.quality) / (w + 1);
        counts[at] = c + 1;
        if (this.points.task(s) < 0 && input.task) this.points.setTask(s, this.taskId(input.task));
        return { merged: true, id };
      }
    }
    const [id] = await this.add(
      [{ embedding: e, outcomes: { [input.model]: input.quality }, ...(input.task ? { task: input.task } : {}) }],
      'feedback',
    );
    return { merged: false, id: id! };
  }

  /** Oldest feedback first, then the oldest reference points: no sorting, both are in insertion order. */
  private async evict(): Promise<void> {
    const over = this.size - this.capacity;
    if (over <= 0) return;
    const gone: number[] = [];
    for (const id of this.feedbackOrder) {
      if (gone.length === over) break;
      gone.push(id);
    }
    for (const id of this.points.keys()) {
      if (gone.length === over) break;
      if (!this.feedbackOrder.has(id)) gone.push(id);
    }
    await this.index.remove(Int32Array.from(gone));
    this.points.remove(gone);
    for (const id of gone) this.feedbackOrder.delete(id);
  }

  /**
   * Saves the approximate graph for a snapshot of this manifold (saveManifold): its keys are the
   * points' ids, and a restored manifold numbers its points 0, 1, … in snapshot order, so the graph
   * fits it only while those are the ids (nothing removed but the newest). Null when there is no
   * graph or it would not fit: the restored manifold then builds its own.
   */
  async saveGraph(file: string): Promise<SavedGraph | null> {
    if (!(this.index instanceof ApproximateIndex && this.index.approximate)) return null;
    let i = 0;
    for (const id of this.points.keys()) if (id !== i++) return null;
    return this.index.saveGraph(file);
  }

  /** Snapshot for persistence: points in insertion order. */
  snapshot() {
    const c = this.columns();
    const W = c.models.length;
    return {
      dim: c.dim,
      capacity: c.capacity,
      mergeThreshold: c.mergeThreshold,
      models: c.models,
      tasks: c.tasks,
      points: Array.from(c.points.ids, (_, i) => ({
        kind: pointKind(c.points.kinds[i]!),
        task: c.points.tasks[i]!,
        outcomes: c.points.outcomes.slice(i * W, (i + 1) * W),
        counts: c.points.counts.slice(i * W, (i + 1) * W),
        embedding: c.embeddings.slice(i * this.dim, (i + 1) * this.dim),
      })),
    };
  }

  /**
   * The same snapshot in columns (what saveManifold writes): the points' records in insertion
   * order (kinds 1 = feedback) and their embeddings, n x dim, read from the index in one call.
   */
  columns() {
    const points = this.points.columns();
    const embeddings = this.index.getRows(points.ids);
    if (!embeddings) throw new ArbiterError(ErrorCodes.INTERNAL, 'a manifold point has no row in its index', {});
    return {
      dim: this.dim,
      capacity: this.capacity,
      mergeThreshold: this.mergeThreshold,
      models: [...this.models],
      tasks: [...this.taskNames],
      points,
      embeddings,
    };
  }

  /**
   * Re-creates points from a snapshot (loadManifold), outcomes and merge counts included: n rows of
   * embeddings (n x dim), outcomes and counts (n x the snapshot's models, in this manifold's model
   * order), one index add for all of them.
   */
  async restore(s: {
    embeddings: Float32Array;
    tasks: ReadonlyArray<string | undefined>;
    outcomes: Float32Array;
    counts: Float32Array;
    kinds: readonly PointKind[];
  }): Promise<void> {
    const n = s.tasks.length;
    const M = n ? s.outcomes.length / n : 0;
    if (
      s.embeddings.length !== n * this.dim ||
      s.counts.length !== n * M ||
      s.kinds.length !== n ||
      M > this.models.length
    )
      fail('snapshot', 'has rows of mismatched lengths');
    const taskIds = s.tasks.map((t) => this.taskId(t));
    const ids = Int32Array.from({ length: n }, () => this.nextId++);
    await this.index.add(ids, s.embeddings); // checks finiteness (natively or here)
    this.points.append(ids, s.kinds, taskIds, s.outcomes, s.counts, M);
    for (let i = 0; i < n; i++) if (s.kinds[i] === 'feedback') this.feedbackOrder.add(ids[i]!);
    await this.evict();
  }

  /** The stored embedding of a point (read from the index), or undefined. */
  embeddingOf(id: number): Float32Array | undefined {
    return this.points.has(id) ? (this.index.get(id) ?? undefined) : undefined;
  }

  free(): void {
    this.index.free();
    this.points.clear();
    this.feedbackOrder.clear();
  }
}
