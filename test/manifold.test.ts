// The manifold on planted data: clusters of embeddings, each with a task label and per-model
// success rates; voting must recover both, feedback must merge or add and evict by the stated
// policy, files must round-trip and refuse corruption, and k-means must find the clusters.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ArbiterError, ErrorCodes } from '../src/index.js';
import { availableBackends, Random, SEED } from './helpers.js';
import { kmeans, loadManifold, Manifold, MERGE_MEMORY, saveManifold } from '../src/manifold/index.js';

const backend = availableBackends()[0]!;
const D = 32;
const TASKS = ['math', 'code', 'knowledge'];
const RATES: Record<string, number[]> = { small: [0.2, 0.9, 0.5], large: [0.9, 0.8, 0.95] }; // per task

function planted(r: Random, perCluster: number) {
  const centres = TASKS.map(() => unit(r.normal(D)));
  const points = TASKS.flatMap((task, c) =>
    Array.from({ length: perCluster }, () => ({
      embedding: jitter(r, centres[c]!, 0.15),
      task,
      outcomes: { small: r.uniform() < RATES.small![c]! ? 1 : 0, large: r.uniform() < RATES.large![c]! ? 1 : 0 },
    })),
  );
  return { centres, points };
}
function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
function jitter(r: Random, c: Float32Array, s: number): Float32Array {
  const noise = r.normal(D);
  return unit(c.map((x, i) => x + s * noise[i]!));
}

describe(`Manifold (${backend.name} backend)`, () => {
  it('votes a task distribution and per-model quality close to the planted rates', async () => {
    const r = new Random(SEED);
    const { centres, points } = planted(r, 200);
    const m = new Manifold(backend, { dim: D });
    const ids = await m.add(points);
    const outcomeOf = new Map(ids.map((id, i) => [id, points[i]!.outcomes as Record<string, number>]));
    const q = new Float32Array(3 * D);
    centres.forEach((c, i) => q.set(jitter(r, c, 0.1), i * D));
    const votes = await m.vote(q, 64);
    votes.forEach((v, c) => {
      expect(v.task.label).toBe(TASKS[c]);
      expect(v.task.confidence).toBeGreaterThan(0.95);
      for (const model of ['small', 'large']) {
        const { mean, stderr, nEff } = v.quality[model]!;
        // exactly the neighbours' outcomes weighted by max(cosine, 0)²
        let sw = 0;
        let swo = 0;
        v.neighbours.ids.forEach((id, j) => {
          const w = Math.max(0, v.neighbours.scores[j]!) ** 2;
          sw += w;
          swo += w * outcomeOf.get(id)![model]!;
        });
        expect(mean).toBeCloseTo(swo / sw, 6);
        // and near the planted rate: the neighbours' outcomes are Bernoulli(p) draws, so the weighted
        // mean's standard deviation is √(p(1 − p)/nEff); 4.5 of them (a false alarm ~7e-6 a check)
        const p = RATES[model]![c]!;
        expect(Math.abs(mean - p), `${model} on ${TASKS[c]}`).toBeLessThan(4.5 * Math.sqrt((p * (1 - p)) / nEff));
        expect(stderr).toBeLessThan(0.1);
        expect(nEff).toBeGreaterThan(20);
      }
    });
    // fewer neighbours, more uncertainty
    const [few] = await m.vote(q.subarray(0, D), 4);
    expect(few!.quality.small!.stderr).toBeGreaterThan(votes[0]!.quality.small!.stderr);
    m.free();
  });

  it('learns a new model from feedback: merges near-duplicates, adds the rest', async () => {
    const r = new Random(SEED + 1);
    const { centres, points } = planted(r, 50);
    const m = new Manifold(backend, { dim: D, mergeThreshold: 0.99 });
    const ids = await m.add(points);
    const target = m.embeddingOf(ids[0]!)!;
    expect(await m.feedback({ embedding: target, model: 'new', quality: 1 })).toEqual({ merged: true, id: ids[0] });
    expect(await m.feedback({ embedding: target, model: 'new', quality: 0 })).toEqual({ merged: true, id: ids[0] });
    const farAt = jitter(r, centres[1]!, 0.5);
    const far = await m.feedback({ embedding: farAt, model: 'new', quality: 1, task: 'code' });
    expect(far.merged).toBe(false);
    expect(m.count('feedback')).toBe(1);
    expect(m.modelIds).toEqual(['small', 'large', 'new']);
    // a model's first outcome that makes a new point is that point's outcome (it was lost)
    const elsewhere = jitter(r, centres[2]!, 0.5);
    expect((await m.feedback({ embedding: elsewhere, model: 'newest', quality: 0.25 })).merged).toBe(false);
    expect(m.modelIds).toEqual(['small', 'large', 'new', 'newest']);
    for (const [at, model, mean] of [
      [farAt, 'new', 1],
      [elsewhere, 'newest', 0.25],
    ] as const) {
      const [own] = await m.vote(at, 1);
      expect(own!.quality[model]).toMatchObject({ mean, nEff: 1 });
    }
    const [v] = await m.vote(target, 1);
    expect(v!.quality.new!.mean).toBeCloseTo(0.5, 6); // running mean of 1 and 0
    m.free();
  });

  it('a merged point remembers its last ~MERGE_MEMORY outcomes: a model that changed is re-learned', async () => {
    const r = new Random(SEED + 2);
    const { points } = planted(r, 20);
    const m = new Manifold(backend, { dim: D, mergeThreshold: 0.99 });
    const ids = await m.add(points);
    const target = m.embeddingOf(ids[3]!)!;
    // plain reference: the exponentially weighted mean the merges stand for
    let mean = 0;
    let n = 0;
    const outcomes = [...Array.from({ length: 100 }, () => (r.uniform() < 0.9 ? 1 : 0)), ...Array(25).fill(0)];
    for (const q of outcomes) {
      await m.feedback({ embedding: target, model: 'new', quality: q });
      const w = Math.min(n, MERGE_MEMORY);
      mean = n === 0 ? q : (mean * w + q) / (w + 1);
      n++;
    }
    const [v] = await m.vote(target, 1);
    expect(v!.quality.new!.mean).toBeCloseTo(mean, 6);
    expect(mean).toBeLessThan(0.35); // a lifetime mean would still be ≥ 0.7
    m.free();
  });

  it('evicts the oldest feedback first and reference points last, at capacity', async () => {
    const r = new Random(SEED + 2);
    const m = new Manifold(backend, { dim: D, capacity: 5, mergeThreshold: 0.999 });
    await m.add(Array.from({ length: 3 }, () => ({ embedding: unit(r.normal(D)), task: 'math' })));
    const fb = [];
    for (let i = 0; i < 4; i++) fb.push(await m.feedback({ embedding: unit(r.normal(D)), model: 'x', quality: 1 }));
    expect(m.size).toBe(5);
    expect(m.count('reference')).toBe(3);
    expect(m.embeddingOf(fb[0]!.id)).toBeUndefined(); // the two oldest feedback points are gone
    expect(m.embeddingOf(fb[1]!.id)).toBeUndefined();
    expect(m.embeddingOf(fb[3]!.id)).toBeDefined();
    m.free();
  });

  it('votes while feedback evicts points concurrently: a neighbour removed mid-search is skipped, never a crash', async () => {
    const r = new Random(SEED + 7);
    const m = new Manifold(backend, { dim: D, capacity: 20, mergeThreshold: 0.999 });
    await m.add(Array.from({ length: 10 }, () => ({ embedding: unit(r.normal(D)), task: 'math', outcomes: { x: 1 } })));
    const queries = Array.from({ length: 40 }, () => unit(r.normal(D)));
    const work: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i++) {
      work.push(m.feedback({ embedding: unit(r.normal(D)), model: 'x', quality: i % 2 }));
      work.push(m.vote(queries[i % 40]!, 16));
    }
    const votes = (await Promise.all(work)).filter((_, i) => i % 2 === 1) as Awaited<ReturnType<Manifold['vote']>>[];
    // a vote whose every neighbour with weight was removed mid-search has no outcome for x (rare,
    // and only under load); the others read the outcomes that remain
    const read = votes.map(([v]) => v!.quality.x).filter((q) => q !== undefined);
    expect(read.length).toBeGreaterThan(votes.length / 2);
    for (const q of read) expect(q.mean >= 0 && q.mean <= 1 && q.nEff > 0).toBe(true);
    expect(m.size).toBe(20);
    m.free();
  });

  it('rejects bad input with typed errors and changes nothing', async () => {
    const r = new Random(SEED + 3);
    const m = new Manifold(backend, { dim: D });
    await m.add([{ embedding: unit(r.normal(D)), task: 'math', outcomes: { a: 1 } }]);
    const bad = async (p: Promise<unknown>, code: string) => expect(p).rejects.toMatchObject({ code });
    await bad(
      m.add([{ embedding: unit(r.normal(D)) }, { embedding: new Float32Array(3) }]),
      ErrorCodes.INVALID_ARGUMENT,
    );
    await bad(m.add([{ embedding: new Float32Array(D).fill(NaN) }]), ErrorCodes.NOT_FINITE);
    await bad(m.add([{ embedding: unit(r.normal(D)), outcomes: { a: 1.5 } }]), ErrorCodes.INVALID_ARGUMENT);
    await bad(m.add([{ embedding: unit(r.normal(D)), task: 'Not A Task' }]), ErrorCodes.INVALID_ARGUMENT);
    await bad(m.feedback({ embedding: unit(r.normal(D)), model: 'a', quality: -0.1 }), ErrorCodes.INVALID_ARGUMENT);
    await bad(m.vote(new Float32Array(D + 1)), ErrorCodes.INVALID_ARGUMENT);
    expect(m.size).toBe(1);
    expect(m.tasks).toEqual(['math']);
    expect(() => new Manifold(backend, { dim: D, capacity: 0 })).toThrow(ArbiterError);
    m.free();
  });

  it('saves and loads a versioned file that votes identically, and refuses corrupt ones', async () => {
    const r = new Random(SEED + 4);
    const { centres, points } = planted(r, 30);
    const m = new Manifold(backend, { dim: D });
    await m.add(points);
    await m.feedback({ embedding: jitter(r, centres[0]!, 0.6), model: 'late', quality: 1, task: 'math' });
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-manifold-'));
    const file = join(dir, 'm.arbm');
    await saveManifold(m, file);
    const back = await loadManifold(file, backend);
    expect(back.size).toBe(m.size);
    expect(back.count('feedback')).toBe(1);
    expect(back.modelIds).toEqual(m.modelIds);
    expect(back.snapshot()).toEqual(m.snapshot()); // every point: embedding, task, outcomes, merge counts, kind
    const q = jitter(r, centres[2]!, 0.1);
    const [a] = await m.vote(q, 20);
    const [b] = await back.vote(q, 20);
    expect(b!.task).toEqual(a!.task);
    expect(b!.quality).toEqual(a!.quality);
    const bytes = await readFile(file);
    // the header is padded so the float blocks start at a multiple of 4 (read as views); a file
    // written before (header unpadded: blocks read by copying) loads the same
    const hlen = bytes.readUInt32LE(8);
    expect((12 + hlen) % 4).toBe(0);
    const json = bytes.toString('utf8', 12, 12 + hlen).trimEnd();
    const spaces = [0, 1, 2, 3].find((x) => (12 + json.length + x) % 4 !== 0)!; // misaligned on purpose
    const head = Buffer.alloc(12);
    bytes.copy(head, 0, 0, 8);
    head.writeUInt32LE(json.length + spaces, 8);
    const old = Buffer.concat([
      head,
      Buffer.from(json + ' '.repeat(spaces)),
      bytes.subarray(12 + hlen, bytes.length - 32),
    ]);
    await writeFile(join(dir, 'old.arbm'), Buffer.concat([old, createHash('sha256').update(old).digest()]));
    expect((await loadManifold(join(dir, 'old.arbm'), backend)).snapshot()).toEqual(m.snapshot());
    const flipped = Buffer.from(bytes);
    flipped[100] = flipped[100]! ^ 0xff;
    await writeFile(join(dir, 'bad.arbm'), flipped);
    await expect(loadManifold(join(dir, 'bad.arbm'), backend)).rejects.toThrow(/checksum mismatch/);
    const v2 = Buffer.from(bytes);
    v2.writeUInt32LE(2, 4);
    await writeFile(join(dir, 'v2.arbm'), v2);
    await expect(loadManifold(join(dir, 'v2.arbm'), backend)).rejects.toThrow(/version 2 is not supported/);
    await writeFile(join(dir, 'junk'), 'not a manifold at all, just some text that is long enough');
    await expect(loadManifold(join(dir, 'junk'), backend)).rejects.toThrow(/not a manifold file/);
    await expect(loadManifold(join(dir, 'missing'), backend)).rejects.toThrow(/cannot read/);
    m.free();
    back.free();
  });
});

describe('kmeans', () => {
  it('recovers planted clusters, deterministically for a seed', async () => {
    const r = new Random(SEED + 5);
    const { centres, points } = planted(r, 100);
    const flat = new Float32Array(points.length * D);
    points.forEach((p, i) => flat.set(p.embedding, i * D));
    const a = await kmeans(backend, flat, D, 3, { seed: 7 });
    const b = await kmeans(backend, flat, D, 3, { seed: 7 });
    expect(Array.from(a.assignments)).toEqual(Array.from(b.assignments));
    // purity: each planted cluster maps to one found cluster
    for (let c = 0; c < 3; c++) {
      const found = new Map<number, number>();
      for (let i = c * 100; i < (c + 1) * 100; i++)
        found.set(a.assignments[i]!, (found.get(a.assignments[i]!) ?? 0) + 1);
      expect(Math.max(...found.values())).toBeGreaterThanOrEqual(95);
    }
    // as cohesive as the planted centres themselves (noise makes both about 0.76 here)
    const plantedCohesion =
      points.reduce((s, p, i) => s + p.embedding.reduce((t, x, j) => t + x * centres[Math.floor(i / 100)]![j]!, 0), 0) /
      points.length;
    expect(a.cohesion).toBeGreaterThan(plantedCohesion - 0.01);
    await expect(kmeans(backend, flat, D, 0)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(kmeans(backend, new Float32Array(0), D, 1)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
    });
  });
});
