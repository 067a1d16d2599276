// The manifold's columnar point store against a plain reference (a Map of point objects in
// insertion order) under fresh random sequences of appends (one and many, rows narrower than
// the store), removals (present and absent ids, enough to compact many times), widenings and
// in-place updates: the same ids in the same order, the same kind, task, outcomes and counts.
import { describe, expect, it } from 'vitest';

import { PointStore, type PointKind } from '../src/manifold/points.js';
import { Random, SEED } from './helpers.js';

interface Ref {
  kind: PointKind;
  task: number;
  outcomes: number[];
  counts: number[];
}

function same(store: PointStore, ref: Map<number, Ref>, what: string): void {
  expect([...store.keys()], `${what}: ids in order, seed ${SEED}`).toEqual([...ref.keys()]);
  expect(store.size).toBe(ref.size);
  const W = store.width;
  for (const [id, p] of ref) {
    const s = store.slot(id);
    expect(store.idAt(s)).toBe(id);
    const got: Ref = {
      kind: store.kind(s),
      task: store.task(s),
      outcomes: Array.from(store.outcomes.subarray(s * W, (s + 1) * W)),
      counts: Array.from(store.counts.subarray(s * W, (s + 1) * W)),
    };
    expect(got, `${what}: point ${id}, seed ${SEED}`).toEqual(p);
  }
}

describe('manifold point store', () => {
  it('matches a map of point objects under random appends, removals, widenings and updates', () => {
    const r = new Random(SEED);
    const store = new PointStore(2);
    const ref = new Map<number, Ref>();
    let width = 2;
    let nextId = 0;
    const value = () => (r.uniform() < 0.3 ? NaN : Math.fround(r.uniform()));
    for (let step = 0; step < 600; step++) {
      const op = r.uniform();
      if (op < 0.45) {
        const n = r.uniform() < 0.5 ? 1 : 1 + Math.floor(r.uniform() * 200);
        const m = 1 + Math.floor(r.uniform() * width); // rows may be narrower than the store
        const ids = Array.from({ length: n }, () => (nextId += 1 + Math.floor(r.uniform() * 3)));
        const kinds = ids.map((): PointKind => (r.uniform() < 0.4 ? 'feedback' : 'reference'));
        const tasks = ids.map(() => Math.floor(r.uniform() * 5) - 1);
        const outcomes = Float32Array.from({ length: n * m }, value);
        const counts = Float32Array.from({ length: n * m }, () => Math.floor(r.uniform() * 30));
        store.append(ids, kinds, tasks, outcomes, counts, m);
        ids.forEach((id, i) => {
          const pad = width - m;
          ref.set(id, {
            kind: kinds[i]!,
            task: tasks[i]!,
            outcomes: [...Array.from(outcomes.subarray(i * m, (i + 1) * m)), ...Array<number>(pad).fill(NaN)],
            counts: [...Array.from(counts.subarray(i * m, (i + 1) * m)), ...Array<number>(pad).fill(0)],
          });
        });
      } else if (op < 0.85) {
        const live = [...ref.keys()];
        const gone = Array.from({ length: Math.floor(r.uniform() * 150) }, () =>
          r.uniform() < 0.9 ? live[Math.floor(r.uniform() * live.length)]! : nextId + 1 + Math.floor(r.uniform() * 9),
        );
        store.remove(gone);
        for (const id of gone) ref.delete(id);
      } else if (op < 0.9 && width < 9) {
        width += 1 + Math.floor(r.uniform() * 2);
        store.widen(width);
        for (const p of ref.values()) {
          p.outcomes.push(...Array<number>(width - p.outcomes.length).fill(NaN));
          p.counts.push(...Array<number>(width - p.counts.length).fill(0));
        }
      } else if (ref.size) {
        // an in-place update through the columns, as a merged outcome does
        const live = [...ref.keys()];
        const id = live[Math.floor(r.uniform() * live.length)]!;
        const s = store.slot(id);
        const m = Math.floor(r.uniform() * width);
        const q = Math.fround(r.uniform());
        store.outcomes[s * width + m] = q;
        store.counts[s * width + m]! += 1;
        store.setTask(s, 3);
        const p = ref.get(id)!;
        p.outcomes[m] = q;
        p.counts[m]! += 1;
        p.task = 3;
      }
      if (step % 25 === 0) same(store, ref, `step ${step}`);
    }
    same(store, ref, 'end');
    expect(store.slot(nextId + 100)).toBe(-1);
    expect(store.has(nextId + 100)).toBe(false);
    store.clear();
    expect([...store.keys()]).toEqual([]);
    expect(store.size).toBe(0);
  });

  it('refuses rows wider than the models it tracks, changing nothing', () => {
    const store = new PointStore(2);
    store.append([1], ['reference'], [0], Float32Array.of(0.5, 1), Float32Array.of(1, 1));
    expect(() =>
      store.append([2], ['reference'], [0], Float32Array.of(0.5, 1, 0), Float32Array.of(1, 1, 1), 3),
    ).toThrow(RangeError);
    expect([...store.keys()]).toEqual([1]);
  });
});
