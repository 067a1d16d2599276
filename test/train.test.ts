// Training on generated outcome data with a known structure, the model folder (checksums, embedder
// check), and routing with the trained model — no shared data (the loaders: eval.loaders.test.ts).
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createRouter } from '../src/index.js';
import { defaultModelDir } from '../src/paths.js';
import { availableBackends } from './helpers.js';
import { calibratedQuality, fitCapability } from '../src/router/index.js';
import { type OutcomeRecord, predictRecords, saveRouterModel, train } from '../src/learn/index.js';
import { rocAuc } from '../src/stats/index.js';
import { sha256, StaticEmbedder, type Manifest } from '../src/embed/index.js';
import { loadUsearch } from '../src/compute/index.js';
import { Manifold } from '../src/manifold/index.js';

const backend = availableBackends()[0]!;

/** Code prompts: 'coder' succeeds, 'talker' fails; chat prompts: the reverse. 'coder' costs 10x. */
function dataset(n: number): OutcomeRecord[] {
  const code = [
    'Write a python function to reverse a string',
    'Implement a binary search in java',
    'Write a SQL query that joins two tables',
    'Fix this javascript bug in my function',
    'Write a rust function to parse integers',
  ];
  const chat = [
    'hello, how are you today',
    'thanks for your help yesterday',
    'what do you think about the weather',
    'good morning, nice to meet you',
    'can you recommend a good movie',
  ];
  return Array.from({ length: n }, (_, i) => {
    const isCode = i % 2 === 0;
    const base = (isCode ? code : chat)[Math.floor(i / 2) % 5]!;
    return {
      prompt: `${base} (variant ${i})`,
      task: isCode ? 'code' : 'conversation',
      outcomes: { coder: isCode ? 1 : 0, talker: isCode ? 0 : 1 },
      costs: { coder: 0.01, talker: 0.001 },
      source: `mem:${i + 1}`,
    };
  });
}

/** A config for the dataset's two models, routing on quality with the out-of-distribution test off. */
const coderTalker = {
  models: ['coder', 'talker'].map((id) => ({
    id,
    provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
    cost: { inputPer1k: 1, outputPer1k: 1 },
  })),
  // ten prompt templates: any other prompt is unlike them, so the out-of-distribution test
  // (test/ood.test.ts) would route it on the priors — this checks what was learned
  routing: { strategy: 'quality' as const, oodLevel: 0 },
};

describe('train', () => {
  it('learns who wins on which prompts, reports it on a disjoint validation split, and routes with it', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const data = dataset(400);
    const trained = await train(data, embedder, backend, { valFraction: 0.2, seed: 3, k: 8 });
    const { manifold, costs, strengths, report } = trained;
    expect(report.train + report.validation + report.droppedDuplicates).toBe(400);
    expect(report.taskAccuracy).toBeGreaterThan(0.95);
    expect(report.auc.coder!.overall).toBeGreaterThan(0.95);
    expect(strengths.coder).toMatchObject({ code: 1, conversation: 0 });
    expect(costs.talker!['*']).toBeCloseTo(0.001, 9);
    const lowCost = report.curve[0]!; // cost weight 0: best predicted quality
    expect(lowCost.quality).toBeGreaterThan(0.95);
    expect(lowCost.cost).toBeLessThan(report.singleModels.coder!.cost); // chat prompts go to the cheap talker
    // save, load, route
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-router-model-'));
    await saveRouterModel(dir, { ...trained, embedder, produced: { by: 'test' } });
    const router = await createRouter(coderTalker, { backend, embedder, model: dir, k: 8 });
    const [a, b] = await router.routeBatch(['Write a python function to sort a list', 'hello, how are you doing?']);
    expect(a!.model).toBe('coder');
    expect(b!.model).toBe('talker');
    expect(a!.predicted.cost).toBeCloseTo(0.01, 6); // observed cost, not the config's price estimate
    expect(a!.task).toMatchObject({ label: 'code', source: expect.stringMatching(/^head/) });
    expect(a!.analysis.difficulty!.value).toBeGreaterThanOrEqual(0);
    expect(report.taskCalibrationError).toBeLessThan(0.1);
    manifold.free();
  });

  it('learned priors weight every record once, with or without a task label', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const recs: OutcomeRecord[] = [
      { prompt: 'Write a python function', task: 'code', outcomes: { m: 1 }, costs: { m: 0.3 }, source: 'a' },
      { prompt: 'hello there', outcomes: { m: 0 }, costs: { m: 0.1 }, source: 'b' },
    ];
    const { strengths, costs, manifold } = await train(recs, embedder, backend, { valFraction: 0 });
    expect(strengths.m).toEqual({ '*': 0.5, code: 1 });
    expect(costs.m!['*']).toBeCloseTo(0.2, 12);
    manifold.free();
  });

  it('refuses a router model trained with another embedder', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const trained = await train(dataset(40), embedder, backend, { valFraction: 0 });
    const { manifold } = trained;
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-router-model-'));
    const fake = {
      ...embedder,
      manifest: { ...embedder.manifest, files: embedder.manifest.files.map((f) => ({ ...f, sha256: '0'.repeat(64) })) },
    } as unknown as StaticEmbedder;
    await saveRouterModel(dir, { ...trained, embedder: fake, produced: {} });
    const config = {
      models: [
        {
          id: 'coder',
          provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
          cost: { inputPer1k: 1, outputPer1k: 1 },
        },
      ],
    };
    await expect(createRouter(config, { backend, embedder, model: dir })).rejects.toThrow(
      /was trained with another embedder/,
    );
    // the folder's files are read while the embedder check waits: a bad one does not come first
    await writeFile(join(dir, 'head.json'), '{');
    await expect(createRouter(config, { backend, embedder, model: dir })).rejects.toThrow(
      /was trained with another embedder/,
    );
    // and an embedder that cannot load is reported, not the model folder read beside it
    await expect(
      createRouter(
        { ...config, routing: { embedder: `static:${join(dir, 'no-such-embedder')}` } },
        { backend, model: dir },
      ),
    ).rejects.toMatchObject({ code: 'ARB_INVALID_ARGUMENT', message: /no-such-embedder/ });
    await new Promise((r) => setTimeout(r, 50)); // (an unhandled rejection would fail this run)
    manifold.free();
  });
});

describe('learned difficulty and capabilities', () => {
  // Within one task, 'big' solves every prompt and 'small' only the short ones: only the learned
  // ease (from the prompt's length) can tell them apart, the task prior cannot.
  function graded(n: number): OutcomeRecord[] {
    const words = [
      'alpha',
      'river',
      'stone',
      'cloud',
      'maple',
      'orbit',
      'lemon',
      'piano',
      'tiger',
      'amber',
      'delta',
      'frost',
    ];
    return Array.from({ length: n }, (_, i) => {
      const len = 2 + ((i * 7) % 40);
      const prompt =
        `Question ${i}: ` +
        Array.from({ length: len }, (_, j) => words[(i * 3 + j * 5) % words.length]).join(' ') +
        '?';
      return {
        prompt,
        task: 'knowledge',
        outcomes: { big: 1, small: len < 20 ? 1 : 0, coin: (i * 2654435761) % 7 < 3 ? 1 : 0 },
        costs: { big: 0.01, small: 0.001, coin: 0.001 },
        source: `g:${i}`,
      };
    });
  }

  it('predicts which prompts the weaker model fails within a task, and routes on it', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const t = await train(graded(500), embedder, backend, { valFraction: 0.2, seed: 5 });
    expect(t.report.auc.small!.withinTask).toBeGreaterThan(0.9);
    expect(t.report.meanWithinTaskAuc!.learned).toBeGreaterThan(t.report.meanWithinTaskAuc!.knn - 0.05);
    expect(t.calibration.small!.knowledge![1]).toBeGreaterThan(0); // small's success rises with ease
    // with a cost weight, short prompts go to small and long ones to big
    const preds = await predictRecords(t, embedder, backend, graded(60).slice(40));
    const shortQ = preds.filter((_, i) => 2 + (((i + 40) * 7) % 40) < 12).map((p) => p.quality.small!);
    const longQ = preds.filter((_, i) => 2 + (((i + 40) * 7) % 40) > 30).map((p) => p.quality.small!);
    expect(Math.min(...shortQ)).toBeGreaterThan(Math.max(...longQ));
    t.manifold.free();
  });

  it('a model absent from training learns a capability from a few outcomes (feedback)', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const t = await train(graded(400), embedder, backend, { valFraction: 0 });
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-router-model-'));
    await saveRouterModel(dir, { ...t, embedder, produced: {} });
    const spec = (id: string) => ({
      id,
      provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
      cost: { inputPer1k: 1, outputPer1k: 1 },
    });
    const router = await createRouter(
      { models: ['big', 'small', 'newbie'].map(spec) },
      { backend, embedder, model: dir },
    );
    const fresh = graded(600).slice(500); // prompts not seen in training
    const len = (p: string) => p.split(' ').length - 2;
    const short = fresh.filter((r) => len(r.prompt) < 10).map((r) => r.prompt);
    const long = fresh.filter((r) => len(r.prompt) > 32).map((r) => r.prompt);
    const newbieQ = async (ps: string[]) =>
      (await router.routeBatch(ps)).map((d) => d.alternatives.find((a) => a.model === 'newbie')!);
    expect((await newbieQ(short))[0]!.qualitySource).not.toBe('learned'); // before: priors only
    // newbie behaves like small: it succeeds on short prompts only
    const teach = graded(500).slice(400, 430);
    for (const r of teach)
      await router.feedback({ prompt: r.prompt, model: 'newbie', quality: len(r.prompt) < 20 ? 1 : 0 });
    expect(router.onlineCapabilities.newbie?.knowledge).toBeDefined();
    const [qs, ql] = [await newbieQ(short), await newbieQ(long)];
    expect(qs.every((a) => a.qualitySource === 'learned')).toBe(true);
    const mean = (xs: Array<{ quality: number }>) => xs.reduce((s, x) => s + x.quality, 0) / xs.length;
    expect(mean(qs)).toBeGreaterThan(mean(ql) + 0.2);
    // bad feedback changes nothing
    await expect(router.feedback({ prompt: 'x', model: 'newbie', quality: 2 })).rejects.toMatchObject({
      code: 'ARB_INVALID_ARGUMENT',
    });
    await expect(router.feedback({ prompt: 'x', model: 'nobody', quality: 1 })).rejects.toMatchObject({
      code: 'ARB_NOT_FOUND',
    });
    t.manifold.free();
  });

  it('fitCapability recovers the parameters of simulated outcomes', () => {
    let s = 12345;
    const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const truth = [0.4, 1.5, -0.7];
    const n = 20_000;
    const x1 = Array.from({ length: n }, () => rand() * 4 - 2);
    const x2 = Array.from({ length: n }, () => rand() * 4 - 2);
    const y = x1.map((v, i) =>
      rand() < 1 / (1 + Math.exp(-(truth[0]! + truth[1]! * v + truth[2]! * x2[i]!))) ? 1 : 0,
    );
    const cap = fitCapability(x1, x2, y, 1e-3);
    cap.forEach((v, i) => expect(Math.abs(v - truth[i]!)).toBeLessThan(0.12));
  });

  it('calibratedQuality mixes tasks and leaves uncalibrated ones to the kNN quality', () => {
    const caps = { math: [0, 1, 0] as [number, number, number] };
    expect(calibratedQuality(undefined, { math: 1 }, { math: 0.5 }, 0.3)).toBeUndefined();
    expect(calibratedQuality(caps, { code: 1 }, { code: 0.5 }, 0.3)).toBeUndefined();
    expect(calibratedQuality(caps, { math: 1 }, { math: 0.8 }, 0.3)).toBeCloseTo(0.8, 6);
    expect(calibratedQuality(caps, { math: 0.5, code: 0.5 }, { math: 0.8 }, 0.3)).toBeCloseTo(0.55, 6);
  });

  it('refuses a head.json of the wrong shape with a typed error', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const trained = await train(dataset(40), embedder, backend, { valFraction: 0 });
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-router-model-'));
    await saveRouterModel(dir, {
      ...trained,
      head: { ...trained.head, layer: { ...trained.head.layer, bias: new Float32Array(1) } },
      embedder,
      produced: {},
    });
    const config = {
      models: [
        {
          id: 'coder',
          provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
          cost: { inputPer1k: 1, outputPer1k: 1 },
        },
      ],
    };
    await expect(createRouter(config, { backend, embedder, model: dir })).rejects.toMatchObject({
      code: 'ARB_INVALID_ARGUMENT',
      message: /head\.json: weight must hold/,
    });
    trained.manifold.free();
  });

  it.skipIf(!loadUsearch())(
    "carries its manifold's search graph, listed in the manifest, and routes through it loaded",
    async () => {
      const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
      const trained = await train(dataset(200), embedder, backend, { valFraction: 0, seed: 5, k: 8 });
      // the same points in a manifold that builds its graph from 50 points (a trained one: from 50,000)
      const s = trained.manifold.snapshot();
      const manifold = new Manifold(backend, { dim: s.dim, models: s.models, approximate: { from: 50 } });
      await manifold.add(
        s.points.map((p) => ({
          embedding: p.embedding,
          task: s.tasks[p.task],
          outcomes: Object.fromEntries(
            s.models.flatMap((m, i) => (Number.isNaN(p.outcomes[i]) ? [] : [[m, p.outcomes[i]!]])),
          ),
        })),
      );
      expect(manifold.searchesExactly).toBe(false);
      const dir = await mkdtemp(join(tmpdir(), 'arbiter-router-model-'));
      await saveRouterModel(dir, { ...trained, manifold, embedder, produced: {} });
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      const g = manifest.files.find((f) => f.kind === 'manifold-graph')!;
      expect(g.path).toMatch(/^manifold\.arbm\.[0-9a-f]{16}\.hnsw$/);
      const bytes = await readFile(join(dir, g.path));
      expect([bytes.length, sha256(bytes)]).toEqual([g.bytes, g.sha256]);
      const router = await createRouter(coderTalker, { backend, embedder, model: dir, k: 8 });
      expect(router.manifold.searchesExactly).toBe(false); // 200 points: only the saved graph searches
      const [a, b] = await router.routeBatch(['Write a python function to sort a list', 'hello, how are you doing?']);
      expect([a!.model, b!.model]).toEqual(['coder', 'talker']);
      await router.close();
      for (const m of [manifold, trained.manifold]) m.free();
    },
  );

  it('refuses a model folder whose manifold file was changed, alone or with another bad file', async () => {
    const embedder = await StaticEmbedder.load(defaultModelDir(), backend);
    const trained = await train(dataset(40), embedder, backend, { valFraction: 0 });
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-router-model-'));
    await saveRouterModel(dir, { ...trained, embedder, produced: {} });
    const config = {
      models: ['coder', 'chatter'].map((id) => ({
        id,
        provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
        cost: { inputPer1k: 1, outputPer1k: 1 },
      })),
    };
    const loaded = await createRouter(config, { backend, embedder, model: dir });
    expect(loaded.manifold.size).toBe(trained.manifold.size);
    await loaded.close();
    // one byte of an embedding changed: the manifest's checksum (the file is read and hashed once)
    const file = join(dir, 'manifold.arbm');
    const bytes = await readFile(file);
    bytes[200] = bytes[200]! ^ 0xff;
    await writeFile(file, bytes);
    await expect(createRouter(config, { backend, embedder, model: dir })).rejects.toMatchObject({
      code: 'ARB_INVALID_ARGUMENT',
      message: /manifold\.arbm does not match its sha256/,
    });
    // and with a broken file read before the manifold's check completes: one typed error, the
    // manifold's check left handled (an unhandled rejection would fail this run)
    await writeFile(join(dir, 'head.json'), '{');
    await expect(createRouter(config, { backend, embedder, model: dir })).rejects.toMatchObject({
      code: 'ARB_INVALID_ARGUMENT',
    });
    await new Promise((r) => setTimeout(r, 50));
    trained.manifold.free();
  });
});

describe('rocAuc', () => {
  it('matches hand-computed values, with ties counted half', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(rocAuc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(rocAuc([1, 2], [1, 1])).toBeNaN();
  });
});

/** A five-shot multiple-choice science prompt in RouterBench's ARC format (questions written for this test). */
const ARC_STYLE = [
  ['Which gas do green plants take in for photosynthesis?', ['oxygen', 'carbon dioxide', 'nitrogen', 'helium'], 'B'],
  ['What happens to water when it freezes?', ['it expands', 'it evaporates', 'it boils', 'it dissolves'], 'A'],
  [
    'Which object is the best conductor of electricity?',
    ['a rubber band', 'a wooden spoon', 'a copper wire', 'a glass rod'],
    'C',
  ],
  [
    'Why does the Moon shine at night?',
    ['it burns gas', 'it reflects sunlight', 'it stores heat', 'it makes light'],
    'B',
  ],
  ['Which tool measures air temperature?', ['a ruler', 'a balance', 'a thermometer', 'a compass'], 'C'],
  [
    'A student rubs a balloon on wool. What makes the balloon stick to a wall?',
    ['gravity', 'magnetism', 'static electricity', 'friction heat'],
    '',
  ],
]
  .map(
    ([q, opts, a]) =>
      `${q as string}\n${(opts as string[]).map((o, i) => `${'ABCD'[i]}) ${o}`).join('\n')}\nPrint only a single choice from "A" or "B" or "C" or "D" without explanation.\nAnswer:\n${a as string}`,
  )
  .join('\n\n')
  .trimEnd();

describe('the shipped RouterBench router (config/routerbench.yaml + models/routerbench)', () => {
  it('loads from the config alone and routes with the learned head and capabilities', async () => {
    const router = await createRouter(join(process.cwd(), 'config', 'routerbench.yaml'), { backend });
    const [code, fewShot] = await router.routeBatch([
      'Write a python function to find the first repeated character in a given string.',
      ARC_STYLE,
    ]);
    expect(code!.task.label).toBe('code');
    expect(fewShot!.task.label).toBe('knowledge');
    for (const d of [code!, fewShot!]) {
      expect(d.alternatives).toHaveLength(11);
      expect(d.alternatives.every((a) => a.qualitySource === 'learned')).toBe(true);
      expect(d.analysis.difficulty!.value).toBeGreaterThan(0);
      expect(d.analysis.difficulty!.value).toBeLessThan(1);
    }
    // the quality weight alone picks the best predicted model; the configured cost weight picks a cheaper one
    const q = await router.route('Write a python function to find the first repeated character in a given string.', {
      strategy: 'quality',
    });
    expect(code!.predicted.cost).toBeLessThanOrEqual(q.predicted.cost);
  });

  it('says general (source ood, low confidence) for prompts unlike its three tasks, on the priors', async () => {
    const router = await createRouter(join(process.cwd(), 'config', 'routerbench.yaml'), { backend });
    const ds = await router.routeBatch(['Write a haiku about autumn rain.', 'Hi! How are you', '']);
    for (const d of ds) {
      expect(d.task).toMatchObject({ label: 'general', source: 'ood' });
      expect(d.task.confidence).toBeLessThan(0.02);
      expect(d.alternatives.every((a) => a.qualitySource === 'prior')).toBe(true);
    }
    router.close();
  });
});
