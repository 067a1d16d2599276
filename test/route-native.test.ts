// The fused native routing pass against the JavaScript reference path: the native analyzer gives
// the analysis analyze() gives (features, rule counts, task scores) on hand-written and random
// text, and a router gives byte-identical decisions with and without the pass. Hostile calls to
// the addon's classes are refused with stable codes.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

import { analyze, analyzeNative, nativeAnalyzer } from '../src/analyze/index.js';
import { createBackend, loadAddon, nativeHandles, SYNC_WORK_NS } from '../src/compute/index.js';
import { StaticEmbedder } from '../src/embed/index.js';
import { createRouter, ErrorCodes } from '../src/index.js';
import { passWorkNs, type PassOutput } from '../src/router/fused.js';
import { SEED } from './helpers.js';

const addon = loadAddon();
const native = addon?.RoutePass ? describe : describe.skip;
if (!addon?.RoutePass) console.warn('route-native tests skipped: the native addon did not load');

const mcq = (q: string, opts: string[], answer?: string) =>
  `${q}\n${opts.map((o, i) => `${'ABCD'[i]}) ${o}`).join('\n')}\nAnswer:${answer ? ` ${answer}` : ''}`;

/** Prompts a router sees, each exercising features and rule patterns. */
const CORPUS = [
  '',
  '   \n\t ',
  'Hi! How are you?',
  'hello there, can you recommend a good book? I feel like reading.',
  'Thank you so much for your advice.',
  'What is 17 * 23?',
  'Solve for x: 3x + 5 = 20. Show the steps, step by step.',
  'Calculate the integral \\int_0^1 x^2 dx and simplify. $a^2 + b^2 = c^2$ and \\frac{1}{2} \\le x \\leq 3',
  'A farmer has 12 apples and buys 3 kg of pears for $5. How many apples does he have? 5 km, 10 eggs, 2 hours',
  'What is the probability of rolling a 6? Compute the average and the ratio; 3 x 4 = 12, 2*3=6, 1.5+2.25',
  'Write a function in Python that reverses a linked list.\n```python\ndef rev(head):\n    prev = None\n    while head:\n        head.next, prev, head = prev, head, head.next\n    return prev\n```',
  'Fix the bug in this JavaScript:\nconst f = (x) => { return x + 1; };\nconsole.log(f(2));\nstd::vector<int> v;\n#include <stdio.h>',
  'Implement a C++ class for a stack trace parser, c++11 and c++ code. Refactor the API method; debug the SQL query and regex.',
  'Explain why the sky is blue. What would happen if the atmosphere were thicker? Discuss trade-offs and implications.',
  'Compare and analyze the pros and cons of nuclear power; think carefully. Evaluate tradeoffs, reasoning and justify.',
  'Ian ate because _ was hungry.\nA) Ian\nB) Dennis',
  'Which of the following is a mammal?\n(A) shark\n(B) whale\n(C) trout\n(D) eel',
  'Who was the first president of the United States? When did he die? Where is the capital located?',
  'Define entropy in physics and chemistry; what is its history in economics and law?',
  'Write a short story about a dragon. Compose a poem, draft a haiku, create the song lyrics, write an essay.',
  'Write a very long story. Imagine a character and plot; use a metaphor and rhyme. Brainstorm creative fiction.',
  'Summarize the following text in three bullet points:\nThe meeting covered budgets. TL;DR: tldr key points.',
  'Extract all dates, classify the email and translate the following passage into French. Paraphrase; rewrite.',
  'List all the steps:\n1. Open the box\n2) Remove the item\n- check it\n* test it\n• done',
  "You must answer in at most 50 words, at least 10, exactly 3 sentences, no more than one list; do not use jargon, don't ramble. Never, always, ensure, make sure, within limits, without fail, only.",
  'Schreibe ein Gedicht über den Herbst und erkläre, warum die Blätter fallen.',
  '¿Cuál es el planeta con el día más largo? Explica por qué.',
  'Как работает квантовый компьютер? Объясни шаг за шагом.',
  'Πώς λειτουργεί η φωτοσύνθεση;',
  '量子计算机是如何工作的？请一步一步解释。これは日本語です。한국어도 있습니다.',
  'ما هو الذكاء الاصطناعي؟ מה זה בינה מלאכותית? कृत्रिम बुद्धि क्या है? ปัญญาประดิษฐ์คืออะไร',
  'Emoji 😀 and math 𝑥 + 𝑦 = 𝑧, ﬁnance ＡＢＣ１２３, Kelvin \u212a, İstanbul, ſ, lone \ud800 and \udc00 surrogates \ud800a',
  'Prove that there are infinitely many primes. Use a lemma about factorial modulo p; theorem; polynomial matrix vector logarithm.',
  'SELECT name FROM users WHERE id = 3;\nINSERT INTO t VALUES (1);\n  indented line\n\ttabbed',
  'print("hi")\nif x:\n  return 1\nelse:\n  pass\nelif y: try: catch',
  'Is this a question\nDoes it count?\nwhat about this',
  'The following article describes rivers. The following email is spam. The following paragraph, document.',
  'Think about it: what do you think about your opinion? Let us chat and talk. I suggest advice.',
  mcq('What is the mass of a carbon-13 atom?', ['19', '7', '13', '6']),
  [0, 1, 2, 3, 4]
    .map((i) => mcq(`Question ${i}: which planet is largest?`, ['Mars', 'Jupiter', 'Venus', 'Earth'], 'B'))
    .join('\n\n'),
  'x'.repeat(3000) + ' 1 + 1 = 2 ' + 'word '.repeat(500),
];

/** Random text from pieces that hit the patterns' edges, mixed with arbitrary UTF-16 units. */
const PIECES = [
  ' ',
  '\n',
  '\t',
  '\r',
  '\u00a0',
  '\u2028',
  '\u3000',
  '.',
  '?',
  '!',
  '？',
  '。',
  '$',
  '1',
  '42',
  '3.5',
  '+',
  '=',
  '-',
  '*',
  '/',
  '^',
  '<',
  'x',
  '×',
  '≤',
  'π',
  '√',
  '\\frac',
  '\\le',
  '\\left',
  '_',
  '•',
  '(',
  'A)',
  'b.',
  'H.',
  '```',
  '{',
  ';',
  '}',
  '=>',
  '::',
  'print(',
  'console.log',
  'def ',
  '#include',
  'SELECT',
  'é',
  'я',
  'Ω',
  '中',
  'ひ',
  '한',
  'ก',
  'ع',
  'ש',
  'क',
  '😀',
  '\ud800',
  '\udc00',
  '𝑥',
  'ſ',
  '\u212a',
  'İ',
  "don't",
  'do not',
  'at least',
  'step-by step',
  'write a poem',
  'write the short story',
  'create a nice-long song',
  'fix an query',
  'write function',
  'c++',
  'C++11',
  'tl;dr',
  'TLDR',
  'how many',
  'How Much',
  '5 km',
  '$5',
  '7kg',
  '3 x 4',
  '2*3',
  ' _ ',
  'reasoning',
  'reasonings',
  'trade-offs',
  'tradeoff',
  'Hi',
  'hello',
  'thank you',
  'what is',
  'Who was',
  'which of the following',
  'the following text',
  'summarise',
  'categorize',
  'identify the',
  'list all',
  'you',
  'your',
  'think about',
  'logical',
  'implication',
  'percentage',
  'percent',
  'the',
  'a',
  'an',
  'and',
  'which',
  'must',
  'within',
  'without',
  'explain why',
  'why does',
];

native('the native analyzer (seed ' + SEED + ')', () => {
  it('gives the analysis analyze() gives on hand-written prompts', () => {
    const got = analyzeNative(CORPUS)!;
    CORPUS.forEach((p, i) => expect(got[i], JSON.stringify(p).slice(0, 80)).toEqual(analyze(p)));
  });

  it('gives the analysis analyze() gives on random text (pattern edges and arbitrary UTF-16)', () => {
    const text = fc
      .array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 60 })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 6 }), (texts) => {
        const got = analyzeNative(texts)!;
        texts.forEach((p, i) => expect(got[i]).toEqual(analyze(p)));
      }),
      { numRuns: 400, seed: SEED },
    );
  });

  it('refuses a class table that does not cover the BMP, and text offsets outside the text', () => {
    expect(() => new addon!.Analyzer!(new Uint8Array(100))).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
    const a = nativeAnalyzer()!;
    expect(() => a.analyzeBatch('abc', Float64Array.of(0, 4))).toThrow(
      expect.objectContaining({ code: ErrorCodes.OUT_OF_RANGE }),
    );
    expect(() => a.analyzeBatch('abc', Float64Array.of(0, 2, 1))).toThrow(
      expect.objectContaining({ code: ErrorCodes.OUT_OF_RANGE }),
    );
    expect(() => a.analyzeBatch('abc', new Float64Array(0))).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
  });
});

native('routing through the fused pass', () => {
  it('decides exactly as the JavaScript path with the default router (head, manifold, OOD test)', async () => {
    const r = await createRouter('config/example.yaml', { backend: createBackend('cpu') });
    const random = fc.sample(
      fc
        .array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 8 })), { maxLength: 40 })
        .map((a) => a.join('')),
      { numRuns: 300, seed: SEED },
    );
    const prompts = [...CORPUS, ...random];
    expect(r.nativePass).toBe(true);
    const fused = await r.routeBatch(prompts);
    r.nativePass = false;
    const reference = await r.routeBatch(prompts);
    // one at a time too (route() is a batch of one; the head's arithmetic depends on the batch size, so each path alone)
    const one = (p: string) => r.route(p);
    const singleReference = await Promise.all(CORPUS.slice(0, 12).map(one));
    r.nativePass = true;
    const single = await Promise.all(CORPUS.slice(0, 12).map(one));
    for (let i = 0; i < prompts.length; i++) expect(fused[i], JSON.stringify(prompts[i])).toEqual(reference[i]);
    expect(single).toEqual(singleReference);
    // overlapping calls take the pool (the calling thread only serves a router with nothing else in progress): same decisions
    const sequential: unknown[] = [];
    for (const p of CORPUS.slice(0, 12)) sequential.push(await r.route(p));
    expect(sequential).toEqual(single);
    r.close();
  });

  it('makes no embeddings for a keyword router until feedback gives its manifold points; same decisions', async () => {
    const provider = { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' };
    const models = [
      { id: 'small', provider, cost: { inputPer1k: 0.0002, outputPer1k: 0.0006 }, strengths: { code: 0.6 } },
      { id: 'large', provider, cost: { inputPer1k: 0.01, outputPer1k: 0.03 }, strengths: { general: 0.9 } },
    ];
    const r = await createRouter({ models }, { backend: createBackend('cpu') });
    const prompts = [...CORPUS, ...fc.sample(fc.string({ maxLength: 60 }), { numRuns: 100, seed: SEED })];
    await r.routeBatch(['warm up']);
    const handle = (r['fused' as keyof typeof r] as unknown as { handle: object }).handle;
    const calls = (spy: { mock: { calls: unknown[][] } }) => spy.mock.calls.map((c) => c[5]);
    const here = vi.spyOn(handle as { runSync: () => unknown }, 'runSync');
    const pool = vi.spyOn(handle as { run: () => unknown }, 'run');
    const fused = await r.routeBatch(prompts);
    expect([...calls(here), ...calls(pool)]).toEqual([false]); // the analysis alone
    r.nativePass = false;
    expect(await r.routeBatch(prompts)).toEqual(fused);
    r.nativePass = true;
    // the analyses are those of a pass that embeds too
    const pass = r['fused' as keyof typeof r] as unknown as {
      run: (p: string[], k: number, alone: boolean, embed: boolean) => Promise<PassOutput>;
    };
    const [without, withEmb] = await Promise.all([pass.run(prompts, 8, true, false), pass.run(prompts, 8, true, true)]);
    expect(without.analyses).toEqual(withEmb.analyses);
    expect([without.embeddings.length, withEmb.embeddings.length]).toEqual([0, prompts.length * r.embedder.dim]);
    // feedback gives the manifold a point: from then on the pass embeds and votes
    await r.feedback({ prompt: 'Write a python function to reverse a string.', model: 'small', quality: 1 });
    expect(r.manifold.size).toBe(1);
    here.mockClear();
    const d = await r.route('Write a python function to reverse a list.');
    expect(calls(here)).toEqual([true]);
    expect(d.alternatives.find((a) => a.model === 'small')!.qualitySource).toMatch(/manifold/);
    here.mockRestore();
    pool.mockRestore();
    r.close();
  });

  it('runs small passes and MLP calls on the calling thread, large ones on the pool, with the same results', async () => {
    const backend = createBackend('cpu');
    const r = await createRouter('config/example.yaml', { backend });
    expect(r['fused' as keyof typeof r]).toBeUndefined(); // built on first use
    await r.routeBatch(['warm up']);
    const handle = (r['fused' as keyof typeof r] as unknown as { handle: object }).handle;
    const here = vi.spyOn(handle as { runSync: () => unknown }, 'runSync');
    const pool = vi.spyOn(handle as { run: () => unknown }, 'run');
    // three short prompts over the 15,877-point manifold: ~0.25 ms of estimated work, this thread
    const few = ['Solve 2x + 3 = 7', 'Write a haiku about rain', 'What is 17 * 23?'];
    expect(passWorkNs(3, few.join('').length, r.manifold.size, r.embedder.dim)).toBeLessThan(SYNC_WORK_NS);
    const small = await r.routeBatch(few);
    expect([here.mock.calls.length, pool.mock.calls.length]).toEqual([1, 0]);
    // the same prompts in a batch with the corpus: several ms, the pool
    const batch = [...few, ...CORPUS];
    const big = await r.routeBatch(batch);
    expect(passWorkNs(batch.length, batch.join('').length, r.manifold.size, r.embedder.dim)).toBeGreaterThan(
      SYNC_WORK_NS,
    );
    expect([here.mock.calls.length, pool.mock.calls.length]).toEqual([1, 1]);
    expect(small.map((d) => [d.model, d.task.label])).toEqual(big.slice(0, 3).map((d) => [d.model, d.task.label]));
    small.forEach((d, i) => expect(d.analysis.features).toEqual(big[i]!.analysis.features)); // (the head's arithmetic depends on the batch size)
    here.mockRestore();
    pool.mockRestore();
    // an MLP: 3 rows of a 200 -> 100 layer (~1.5 µs of estimated work) on this thread, 1,100 rows (~0.55 ms) on the pool; equal to float rounding
    const layer = {
      in: 200,
      out: 100,
      weight: Float32Array.from({ length: 200 * 100 }, (_, i) => Math.sin(i + 0.5) / 10),
      activation: 'softmax' as const,
    };
    const net = { layers: [layer] };
    const x = Float32Array.from({ length: 1100 * 200 }, (_, i) => Math.cos(i * 0.37));
    const three = await backend.mlp(net, x.subarray(0, 3 * 200)); // (builds the native net)
    const handleOf = (
      backend as unknown as { nets: WeakMap<object, { forward: () => unknown; forwardSync: () => unknown }> }
    ).nets;
    const mlp = handleOf.get(net)!;
    const mlpHere = vi.spyOn(mlp, 'forwardSync');
    const mlpPool = vi.spyOn(mlp, 'forward');
    const all = await backend.mlp(net, x);
    expect([mlpHere.mock.calls.length, mlpPool.mock.calls.length]).toEqual([0, 1]);
    expect(await backend.mlp(net, x.subarray(0, 3 * 200))).toEqual(three);
    expect([mlpHere.mock.calls.length, mlpPool.mock.calls.length]).toEqual([1, 1]);
    three.forEach((v, i) => expect(v).toBeCloseTo(all[i]!, 6));
    // 64 rows: more than the 8 that always run here, ~0.03 ms of work: still this thread
    const rows64 = await backend.mlp(net, x.subarray(0, 64 * 200));
    expect([mlpHere.mock.calls.length, mlpPool.mock.calls.length]).toEqual([2, 1]);
    rows64.forEach((v, i) => expect(v).toBeCloseTo(all[i]!, 6));
    r.close();
  });

  it('refuses parts of the wrong kind and freed parts with stable codes, and changes nothing', async () => {
    const backend = createBackend('cpu');
    const emb = await StaticEmbedder.load('models/default', backend);
    const index = backend.createIndex({ dim: emb.dim, idType: 'i32' });
    const parts = nativeHandles(backend, emb.table, index)!;
    const tok = emb.tokenizer.nativeHandle!;
    const analyzer = nativeAnalyzer()!;
    const wrong = (a: unknown, b: unknown, c: unknown, d: unknown) => () =>
      new addon!.RoutePass!(a as never, b as never, c as never, d as never);
    const invalid = expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT });
    expect(wrong(tok, tok, parts.table, parts.index)).toThrow(invalid);
    expect(wrong(analyzer, parts.table, parts.table, parts.index)).toThrow(invalid);
    expect(wrong(analyzer, tok, parts.index, parts.index)).toThrow(invalid);
    expect(wrong(analyzer, tok, parts.table, {})).toThrow(invalid);
    const pass = new addon!.RoutePass!(analyzer, tok, parts.table, parts.index);
    await index.add(
      Int32Array.of(1, 2),
      new Float32Array(2 * emb.dim).map((_, i) => Math.sin(i + 1)),
    );
    await expect(pass.run('abc', Float64Array.of(0, 9), null, null, 2)).rejects.toMatchObject({
      code: ErrorCodes.OUT_OF_RANGE,
    });
    await expect(pass.run('ab', Float64Array.of(0, 2), 'ab', Float64Array.of(0, 1, 2), 2)).rejects.toMatchObject({
      code: ErrorCodes.DIMENSION_MISMATCH,
    });
    const ok = await pass.run('hello world', Float64Array.of(0, 5, 11), null, null, 2);
    expect(ok).toMatchObject({ n: 2, k: 2 });
    expect(ok.embeddings.length).toBe(2 * emb.dim);
    // texts as arrays (offsets null): read into one text natively, the same result as joined
    const texts = ['hello', ' world', '', 'naïve café ﬁ 😀 \ud800'];
    const joined = Float64Array.of(0, ...texts.map((_, i) => texts.slice(0, i + 1).join('').length));
    const nfkc = texts.map((t) => t.normalize('NFKC'));
    for (const run of [pass.run.bind(pass), async (...a: Parameters<typeof pass.run>) => pass.runSync(...a)]) {
      const fromArrays = await run(texts, null, nfkc, null, 2);
      expect(fromArrays).toEqual(
        await run(
          texts.join(''),
          joined,
          nfkc.join(''),
          Float64Array.of(0, ...nfkc.map((_, i) => nfkc.slice(0, i + 1).join('').length)),
          2,
        ),
      );
      expect(fromArrays.n).toBe(4);
      // the five arrays share one buffer
      expect(
        new Set(
          [fromArrays.features, fromArrays.counts, fromArrays.embeddings, fromArrays.ids, fromArrays.scores].map(
            (a) => a.buffer,
          ),
        ).size,
      ).toBe(1);
    }
    // embed false: the analysis alone, the same features and counts; no search without embeddings
    const bare = pass.runSync(texts, null, null, null, 0, false);
    const full = pass.runSync(texts, null, nfkc, null, 2, true);
    expect([bare.features, bare.counts, bare.embeddings.length, bare.k]).toEqual([full.features, full.counts, 0, 0]);
    const refused = async (f: () => unknown) => {
      try {
        await f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return 'accepted';
    };
    expect(await refused(() => pass.run(['a', 7 as never], null, null, null, 2))).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(await refused(() => pass.runSync(['a'], Float64Array.of(0, 1), null, null, 2))).toBe(
      ErrorCodes.INVALID_ARGUMENT,
    );
    expect(await refused(() => pass.run(['a', 'b'], null, ['a'], null, 2))).toBe(ErrorCodes.DIMENSION_MISMATCH);
    expect(await refused(() => pass.run(['a', 'b'], null, ['a', 'b'], null, 2))).toBe('accepted');
    expect(await refused(() => pass.run(['a'], null, null, null, 2, false))).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(await refused(() => pass.runSync(['a'], null, null, null, 0, 'no' as never))).toBe(
      ErrorCodes.INVALID_ARGUMENT,
    );
    expect(index.size).toBe(2); // nothing changed
    index.free();
    await expect(pass.run('hello', Float64Array.of(0, 5), null, null, 2)).rejects.toMatchObject({
      code: ErrorCodes.FREED,
    });
  });
});
