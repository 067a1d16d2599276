// The out-of-distribution test: its p-values and distances against plain references on fresh
// random inputs, its false-flag rate by simulation, and a trained router's use of it (the model
// folder's files, routing as `general` on the priors, the level setting, folders without it).
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { StaticEmbedder } from '../src/embed/index.js';
import { createRouter } from '../src/index.js';
import { fitOod, saveRouterModel, train, type OutcomeRecord } from '../src/learn/index.js';
import { defaultModelDir } from '../src/paths.js';
import { normalisedEntropy, OodDetector, upperPValue } from '../src/analyze/index.js';
import { availableBackends } from './helpers.js';

const backends = availableBackends();
const backend = backends[0]!;

/** A seeded generator (mulberry32) and standard normal draws. */
function rng(seed: number) {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return { u, normal };
}

describe('OOD test: numerics', () => {
  it('upperPValue is the conformal share (ties count as at least as unusual)', () => {
    const r = rng(11);
    for (let trial = 0; trial < 20; trial++) {
      const ref = Array.from({ length: 1 + Math.floor(r.u() * 300) }, () => Math.round(r.normal() * 20) / 4).sort(
        (a, b) => a - b,
      );
      for (let k = 0; k < 20; k++) {
        const x = k % 4 === 0 ? ref[Math.floor(r.u() * ref.length)]! : r.normal() * 6;
        const plain = (ref.filter((v) => v >= x).length + 1) / (ref.length + 1);
        expect(upperPValue(ref, x)).toBeCloseTo(plain, 12);
      }
    }
  });

  it('normalisedEntropy: 1 for uniform, 0 for certain, and the plain formula between', () => {
    expect(normalisedEntropy({ a: 0.25, b: 0.25, c: 0.25, d: 0.25 }, 4)).toBeCloseTo(1, 12);
    expect(normalisedEntropy({ a: 1, b: 0 }, 2)).toBe(0);
    expect(normalisedEntropy({ a: 0.7, b: 0.3 }, 2)).toBeCloseTo(
      -(0.7 * Math.log(0.7) + 0.3 * Math.log(0.3)) / Math.log(2),
      12,
    );
    expect(normalisedEntropy({ a: 0.5, b: 0.5 }, 1)).toBe(0);
  });

  it.each(backends.map((b) => [b.name, b] as const))(
    'distances on %s equal a float64 reference (min over tasks of (x − μ)ᵀP(x − μ)) within 1e-3 relative',
    async (_, b) => {
      const r = rng(5);
      const D = 24;
      const T = 3;
      // a random symmetric positive-definite precision: AᵀA/D + I
      const A = Array.from({ length: D * D }, () => r.normal());
      const P = new Float64Array(D * D);
      for (let i = 0; i < D; i++)
        for (let j = 0; j < D; j++) {
          let s = i === j ? 1 : 0;
          for (let k = 0; k < D; k++) s += (A[k * D + i]! * A[k * D + j]!) / D;
          P[i * D + j] = s;
        }
      const means = Array.from({ length: T }, () => Array.from({ length: D }, () => r.normal() * 3));
      const file = { tasks: ['a', 'b', 'c'], inputDim: D, means, shrinkage: 0, distance: [1], entropy: [], from: 't' };
      const det = new OodDetector(file, Float32Array.from(P));
      const n = 50;
      const x = Float32Array.from({ length: n * D }, () => r.normal() * 4);
      const got = await det.distances(b, x);
      for (let i = 0; i < n; i++) {
        let best = Infinity;
        for (const m of means) {
          let s = 0;
          for (let a = 0; a < D; a++)
            for (let c = 0; c < D; c++) s += (x[i * D + a]! - m[a]!) * P[a * D + c]! * (x[i * D + c]! - m[c]!);
          best = Math.min(best, s);
        }
        expect(Math.abs(got[i]! - best) / best).toBeLessThan(1e-3);
      }
    },
  );
});

describe('OOD test: fitted on training data, checked by simulation', () => {
  it('flags about the level of fresh in-distribution draws (never far more) and nearly all shifted ones', async () => {
    const r = rng(21);
    const D = 10;
    const T = 3;
    const centres = Array.from({ length: T }, () => Array.from({ length: D }, () => r.normal() * 4));
    const scales = Array.from({ length: D }, () => 0.5 + 2 * r.u()); // features on different scales
    const draw = (t: number, shift = 0) => centres[t]!.map((c, j) => c + scales[j]! * (r.normal() + shift));
    const n = 3000;
    const labels = Int32Array.from({ length: n }, (_, i) => i % T);
    const x = Float32Array.from(Array.from(labels).flatMap((t) => draw(t)));
    const { file, precision } = await fitOod(backend, x, D, labels, T, ['a', 'b', 'c'], undefined);
    expect(file.distance).toHaveLength(n);
    expect(file.entropy).toEqual([]);
    const det = new OodDetector(file, precision);
    const level = 0.05;
    const flaggedShare = async (rows: number[][]) => {
      const d = await det.distances(backend, Float32Array.from(rows.flat()));
      return Array.from(d).filter((v) => det.score(v, { a: 1 }).pValue < level).length / rows.length;
    };
    const m = 4000;
    const fresh = await flaggedShare(Array.from({ length: m }, (_, i) => draw(i % T)));
    // conformal: P(flag) ≤ level; binomial sd at 4,000 draws is 0.0034, so 4 sd over the level fails
    expect(fresh).toBeLessThan(level + 4 * Math.sqrt((level * (1 - level)) / m));
    expect(fresh).toBeGreaterThan(level / 3); // and the test is not vacuous
    const shifted = await flaggedShare(Array.from({ length: 500 }, (_, i) => draw(i % T, 3)));
    expect(shifted).toBeGreaterThan(0.95);
  });
});

/** Code prompts: 'coder' succeeds; chat prompts: 'talker' does. */
function dataset(n: number): OutcomeRecord[] {
  const code = ['Write a python function to reverse a string', 'Implement a binary search in java'];
  const chat = ['hello, how are you today', 'good morning, nice to meet you'];
  return Array.from({ length: n }, (_, i) => {
    const isCode = i % 2 === 0;
    return {
      prompt: `${(isCode ? code : chat)[Math.floor(i / 2) % 2]!} (variant ${i})`,
      task: isCode ? 'code' : 'conversation',
      outcomes: { coder: isCode ? 1 : 0, talker: isCode ? 0 : 1 },
      costs: { coder: 0.01, talker: 0.001 },
      source: `mem:${i + 1}`,
    };
  });
}

const models = ['coder', 'talker'].map((id) => ({
  id,
  provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
  cost: { inputPer1k: 1, outputPer1k: 1 },
}));

describe('OOD test in a trained router', () => {
  it('is written by train, flags unlike prompts as general on the priors, and can be turned off or be absent', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const trained = await train(dataset(300), embedder, backend, { valFraction: 0.2, seed: 2, k: 8 });
    expect(trained.report.ood!.flaggedValidation).toBeLessThan(0.1);
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-ood-'));
    await saveRouterModel(dir, { ...trained, embedder, produced: { by: 'test' } });
    trained.manifold.free();
    const far = '日本の首都はどこですか？ 詳しく教えてください。';
    const near = 'Write a python function to reverse a string (variant 7)';
    const router = await createRouter({ models, routing: { strategy: 'quality' } }, { backend, embedder, model: dir });
    const [a, b] = await router.routeBatch([far, near]);
    expect(a!.task).toMatchObject({ label: 'general', source: 'ood', distribution: { general: 1 } });
    expect(a!.task.confidence).toBeLessThan(0.02);
    expect(a!.alternatives.every((c) => c.qualitySource === 'prior')).toBe(true); // no neighbour, no capability
    expect(a!.reason).toMatch(/unlike the prompts the router was trained on/);
    expect(b!.task).toMatchObject({ label: 'code', source: expect.stringMatching(/^head/) });
    router.close();

    const off = await createRouter(
      { models, routing: { strategy: 'quality', oodLevel: 0 } },
      { backend, embedder, model: dir },
    );
    expect((await off.route(far)).task.source).not.toBe('ood');
    off.close();

    // a folder trained before the test existed: no ood files in its manifest — loads, never flags
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
      files: Array<{ kind: string }>;
    };
    manifest.files = manifest.files.filter((f) => !f.kind.startsWith('ood'));
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const old = await createRouter({ models }, { backend, embedder, model: dir });
    expect((await old.route(far)).task.source).not.toBe('ood');
    old.close();
  });

  it('refuses a corrupt ood.json with a typed error', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const trained = await train(dataset(60), embedder, backend, { valFraction: 0, k: 8 });
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-ood-bad-'));
    await saveRouterModel(dir, {
      ...trained,
      ood: { ...trained.ood!, file: { ...trained.ood!.file, distance: [3, 2, 1] } },
      embedder,
      produced: {},
    });
    trained.manifold.free();
    await expect(createRouter({ models }, { backend, embedder, model: dir })).rejects.toMatchObject({
      code: 'ARB_INVALID_ARGUMENT',
      message: expect.stringMatching(/ood\.json/),
    });
  });
});

describe('the default router (config/example.yaml + models/router, trained on RouterBench and RouteLLM)', () => {
  it('routes the five tasks of its data with the trained head, and says general for prompts unlike them', async () => {
    const router = await createRouter(join(process.cwd(), 'config', 'example.yaml'), { backend });
    const [math, code, knowledge, chat, haiku] = await router.routeBatch([
      'A train travels 60 miles in 1.5 hours. What is its average speed in miles per hour?',
      'Write a python function to check whether a given number is a perfect square or not.',
      'Which of the following best describes the function of mitochondria?\nA. protein synthesis\nB. energy production\nC. lipid storage\nD. cell division\nAnswer:',
      'Hi! How are you',
      'Write a haiku about autumn rain.',
    ]);
    expect(math!.task).toMatchObject({ label: 'math', source: 'head+manifold' });
    expect(code!.task).toMatchObject({ label: 'code', source: 'head+manifold' });
    expect(knowledge!.task).toMatchObject({ label: 'knowledge', source: 'head+manifold' });
    expect(math!.alternatives.find((a) => a.model === 'large-reasoner')!.qualitySource).toBe('learned'); // mapped to GPT-4
    for (const d of [chat!, haiku!]) {
      expect(d.task).toMatchObject({ label: 'general', source: 'ood' });
      expect(d.task.confidence).toBeLessThan(0.02);
    }
    expect(router.learned.head!.tasks).toEqual(
      expect.arrayContaining(['code', 'creative', 'extraction', 'knowledge', 'math', 'reasoning']),
    );
    router.close();
  });
});
