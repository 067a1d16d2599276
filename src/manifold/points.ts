/**
 * The manifold's per-point records in columns: kind, task and, per tracked model, the outcome
 * (NaN: none) and how many outcomes were merged into it — flat typed arrays in insertion order,
 * `width` values a point. One object per point with two small Float32Arrays cost ~560 bytes of
 * heap a point (560 MB at 1,000,000) and a chain of pointers to follow per neighbour in every
 * vote; here a point is ~25 bytes plus its map entry, and a vote reads adjacent numbers.
 *
 * Slots are handed out in insertion order; a removed point leaves a hole (its id -1) until holes
 * are half of the slots, when the live ones move down in order. Ids are the manifold's.
 */
export type PointKind = 'reference' | 'feedback';

/** A point's kind from its code in the kinds column (1 = feedback, as manifold files store it). */
export function pointKind(code: number): PointKind {
  return code === 1 ? 'feedback' : 'reference';
}

const MIN_SLOTS = 64;

export class PointStore {
  /** Slot -> id (-1: removed). */
  private ids = new Int32Array(MIN_SLOTS);
  /** Slot -> 1 for feedback, 0 for reference. */
  private kinds = new Uint8Array(MIN_SLOTS);
  /** Slot -> task index (-1: none). */
  private taskOf = new Int32Array(MIN_SLOTS);
  /** Slot * width + model. */
  private outcomeCol: Float32Array;
  private countCol: Float32Array;
  private readonly slotOf = new Map<number, number>();
  /** Slots in use (live and holes). */
  private used = 0;
  private w: number;

  constructor(width = 0) {
    this.w = width;
    this.outcomeCol = new Float32Array(MIN_SLOTS * width);
    this.countCol = new Float32Array(MIN_SLOTS * width);
  }

  get size(): number {
    return this.slotOf.size;
  }
  /** Values a point (the models tracked). */
  get width(): number {
    return this.w;
  }
  /** Outcomes, slot * width + model (read-only for callers: votes read them in place). */
  get outcomes(): Float32Array {
    return this.outcomeCol;
  }
  get counts(): Float32Array {
    return this.countCol;
  }

  /** The point's slot, or -1 when it is not here. */
  slot(id: number): number {
    return this.slotOf.get(id) ?? -1;
  }
  has(id: number): boolean {
    return this.slotOf.has(id);
  }
  task(slot: number): number {
    return this.taskOf[slot]!;
  }
  setTask(slot: number, task: number): void {
    this.taskOf[slot] = task;
  }
  kind(slot: number): PointKind {
    return pointKind(this.kinds[slot]!);
  }

  /**
   * Appends n points (ids in increasing order, newer than any here): outcomes and counts are n
   * rows of `m` values (m <= width; the rest of a row: no outcome).
   */
  append(
    ids: ArrayLike<number>,
    kinds: ArrayLike<PointKind>,
    tasks: ArrayLike<number>,
    outcomes: Float32Array,
    counts: Float32Array,
    m = this.w,
  ): void {
    const n = ids.length;
    if (m > this.w) throw new RangeError(`rows of ${m} values, but ${this.w} models are tracked`);
    this.reserve(this.used + n);
    const W = this.w;
    for (let i = 0; i < n; i++) {
      const s = this.used + i;
      this.ids[s] = ids[i]!;
      this.kinds[s] = kinds[i] === 'feedback' ? 1 : 0;
      this.taskOf[s] = tasks[i]!;
      this.slotOf.set(ids[i]!, s);
    }
    const at = this.used * W;
    if (m === W) {
      this.outcomeCol.set(outcomes.subarray(0, n * W), at);
      this.countCol.set(counts.subarray(0, n * W), at);
    } else
      for (let i = 0; i < n; i++) {
        const o = at + i * W;
        this.outcomeCol.set(outcomes.subarray(i * m, (i + 1) * m), o);
        this.outcomeCol.fill(NaN, o + m, o + W);
        this.countCol.set(counts.subarray(i * m, (i + 1) * m), o);
        this.countCol.fill(0, o + m, o + W);
      }
    this.used += n;
  }

  /** Removes the points with these ids (those here); order of the rest kept. */
  remove(ids: Iterable<number>): void {
    for (const id of ids) {
      const s = this.slotOf.get(id);
      if (s === undefined) continue;
      this.slotOf.delete(id);
      this.ids[s] = -1;
    }
    if (this.used > MIN_SLOTS && 2 * this.slotOf.size < this.used) this.compact();
  }

  /** Tracks `width` models (more than now): the new models' columns start with no outcomes. */
  widen(width: number): void {
    if (width <= this.w) return;
    const cap = this.ids.length;
    const outcomes = new Float32Array(cap * width).fill(NaN);
    const counts = new Float32Array(cap * width);
    for (let s = 0; s < this.used; s++) {
      outcomes.set(this.outcomeCol.subarray(s * this.w, (s + 1) * this.w), s * width);
      counts.set(this.countCol.subarray(s * this.w, (s + 1) * this.w), s * width);
    }
    this.outcomeCol = outcomes;
    this.countCol = counts;
    this.w = width;
  }

  /** Ids in insertion order. */
  *keys(): IterableIterator<number> {
    for (let s = 0; s < this.used; s++) if (this.ids[s]! >= 0) yield this.ids[s]!;
  }
  idAt(slot: number): number {
    return this.ids[slot]!;
  }

  /** Every live point in insertion order, in columns of their own (copies). */
  columns(): {
    ids: Int32Array;
    kinds: Uint8Array;
    tasks: Int32Array;
    outcomes: Float32Array;
    counts: Float32Array;
  } {
    const n = this.size;
    const W = this.w;
    const out = {
      ids: new Int32Array(n),
      kinds: new Uint8Array(n),
      tasks: new Int32Array(n),
      outcomes: new Float32Array(n * W),
      counts: new Float32Array(n * W),
    };
    let i = 0;
    for (let s = 0; s < this.used; s++) {
      if (this.ids[s]! < 0) continue;
      out.ids[i] = this.ids[s]!;
      out.kinds[i] = this.kinds[s]!;
      out.tasks[i] = this.taskOf[s]!;
      out.outcomes.set(this.outcomeCol.subarray(s * W, (s + 1) * W), i * W);
      out.counts.set(this.countCol.subarray(s * W, (s + 1) * W), i * W);
      i++;
    }
    return out;
  }

  clear(): void {
    this.slotOf.clear();
    this.used = 0;
  }

  private reserve(slots: number): void {
    if (slots <= this.ids.length) return;
    let cap = this.ids.length;
    while (cap < slots) cap *= 2;
    // a copy of the slots in use, `per` values a slot, in an array of cap slots
    const grow = <T extends Int32Array | Uint8Array | Float32Array>(a: T, per: number): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * per);
      b.set(a.subarray(0, this.used * per));
      return b;
    };
    this.ids = grow(this.ids, 1);
    this.kinds = grow(this.kinds, 1);
    this.taskOf = grow(this.taskOf, 1);
    this.outcomeCol = grow(this.outcomeCol, this.w);
    this.countCol = grow(this.countCol, this.w);
  }

  /** Moves the live slots down over the holes, in order. */
  private compact(): void {
    const W = this.w;
    let to = 0;
    for (let s = 0; s < this.used; s++) {
      const id = this.ids[s]!;
      if (id < 0) continue;
      if (to !== s) {
        this.ids[to] = id;
        this.kinds[to] = this.kinds[s]!;
        this.taskOf[to] = this.taskOf[s]!;
        this.outcomeCol.copyWithin(to * W, s * W, (s + 1) * W);
        this.countCol.copyWithin(to * W, s * W, (s + 1) * W);
        this.slotOf.set(id, to);
      }
      to++;
    }
    this.used = to;
  }
}
