// Tokenizer (Viterbi against brute force), static embedder on model folders the test writes
// itself (checksums, shapes, fp16), and the default model that ships in models/default.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ArbiterError } from '../src/index.js';
import { sha256, sha256Sliced } from '../src/embed/manifest.js';
import { defaultModelDir } from '../src/paths.js';
import { availableBackends, Random, SEED } from './helpers.js';
import { createBackend, toHalf } from '../src/compute/index.js';
import { StaticEmbedder, UnigramTokenizer, type Vocabulary } from '../src/embed/index.js';

const S = '\u2581';
// reserved: 0 = unknown, 1 = <s>; pieces with log-probs
const vocab: Vocabulary = [
  ['<unk>', 0],
  ['<s>', 0],
  [S, -3],
  ['a', -2],
  ['b', -2.5],
  ['ab', -3],
  ['ba', -3.5],
  [`${S}a`, -2.2],
  [`${S}ab`, -4],
  ['abb', -5],
  ['bb', -3.1],
  ['fi', -2],
];

/** Best total log-prob over every segmentation (unknown characters cost min - 10 each), by enumeration. */
function bruteBest(s: string, tok: UnigramTokenizer): number {
  const pieces = vocab.map(([p, sc], id) => ({ p, sc, id })).filter((x) => x.id >= 2);
  const unk = Math.min(...pieces.map((x) => x.sc)) - 10;
  const memo = new Map<number, number>();
  const go = (i: number): number => {
    if (i === s.length) return 0;
    if (memo.has(i)) return memo.get(i)!;
    let best = -Infinity;
    for (const { p, sc } of pieces) if (s.startsWith(p, i)) best = Math.max(best, sc + go(i + p.length));
    if (best === -Infinity) best = unk + go(i + 1);
    memo.set(i, best);
    return best;
  };
  void tok;
  return go(0);
}

describe('UnigramTokenizer', () => {
  const tok = new UnigramTokenizer(vocab, { reserved: 2, unkId: 0 });

  it('finds the most probable segmentation (property: equals brute force)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[ab ]{1,12}$/), (text) => {
        const ids = tok.encode(text);
        const score = ids.reduce((s, id) => s + vocab[id]![1], 0);
        const norm = UnigramTokenizer.normalize(text);
        expect(ids.map((id) => vocab[id]![0]).join('')).toBe(norm); // covers the text exactly
        expect(score).toBeCloseTo(bruteBest(norm, tok), 9);
      }),
      { numRuns: 300 },
    );
  });

  it('normalises (NFKC, word marks), merges runs of unknown characters, keeps surrogate pairs whole', () => {
    expect(tok.encode('ab ba').map((id) => vocab[id]![0])).toEqual([`${S}ab`, S, 'ba']);
    expect(tok.encode('\uFB01')).toEqual([2, 11]); // the 'ﬁ' ligature becomes 'fi'
    expect(tok.encode('a?!?b')).toEqual([7, 0, 4]); // '?!?' is one unknown token
    expect(tok.encode('a\u{1F680}b')).toEqual([7, 0, 4]);
    expect(tok.encode('')).toEqual([]);
  });

  it('encodeBatch lays bags out as ids + offsets for embedPool', () => {
    const { ids, offsets } = tok.encodeBatch(['ab', '', 'b a']);
    expect(Array.from(offsets)).toEqual([0, 1, 1, 4]);
    expect(Array.from(ids)).toEqual([8, 2, 4, 7]);
  });

  it('rejects malformed vocabularies with a typed error', () => {
    expect(() => new UnigramTokenizer([['a', NaN]] as never)).toThrow(ArbiterError);
    expect(() => new UnigramTokenizer([['a', -1]], { reserved: 1 })).toThrow(/non-empty/);
    expect(() => new UnigramTokenizer([[3, -1]] as never)).toThrow(/vocabulary\[0\]/);
    expect(() => new UnigramTokenizer(vocab, { unkId: 99 })).toThrow(/unkId/);
  });
});

/** Writes a static-embedder model folder; returns its path. */
async function writeModel(
  table: Float32Array | Uint16Array,
  dim: number,
  tweak: (m: Record<string, unknown>) => void = () => {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'arbiter-model-'));
  const tab = new Uint8Array(table.buffer, table.byteOffset, table.byteLength);
  const tokJson = Buffer.from(JSON.stringify(vocab));
  const f16 = table instanceof Uint16Array;
  await writeFile(join(dir, 'table.bin'), tab);
  await writeFile(join(dir, 'tokenizer.json'), tokJson);
  const manifest: Record<string, unknown> = {
    format: 1,
    name: 'tiny',
    kind: 'static-embedder',
    dim,
    files: [
      {
        path: 'table.bin',
        kind: 'table',
        dtype: f16 ? 'f16' : 'f32',
        shape: [vocab.length, dim],
        bytes: tab.length,
        sha256: sha256(tab),
      },
      {
        path: 'tokenizer.json',
        kind: 'tokenizer',
        dtype: 'json',
        shape: [vocab.length],
        bytes: tokJson.length,
        sha256: sha256(tokJson),
      },
    ],
    tokenizer: { type: 'unigram', reserved: 2, unkId: 0, normalization: 'NFKC' },
    produced: { by: 'test' },
  };
  tweak(manifest);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

describe('StaticEmbedder', () => {
  const r = new Random(SEED);
  const dim = 5;
  const table = r.normal(vocab.length * dim);

  it.each(availableBackends().map((b) => [b.name, b]))(
    '%s: embeddings are the normalised sums of token rows (fp32 and fp16 tables)',
    async (_n, backend) => {
      for (const t of [table, toHalf(table)]) {
        const emb = await StaticEmbedder.load(await writeModel(t, dim), backend);
        const texts = ['ab ba', 'b', ''];
        const out = await emb.embed(texts);
        const rows =
          t instanceof Uint16Array
            ? await createBackend('js').embedPool(
                { data: t, vocab: vocab.length, dim },
                Int32Array.of(...Array.from({ length: vocab.length }, (_, i) => i)),
                Int32Array.from({ length: vocab.length + 1 }, (_, i) => i),
                { normalize: false },
              )
            : table;
        texts.forEach((text, i) => {
          const ids = emb.tokenizer.encode(text);
          const sum = new Float64Array(dim);
          for (const id of ids) for (let c = 0; c < dim; c++) sum[c] = sum[c]! + rows[id * dim + c]!;
          const norm = Math.hypot(...sum);
          for (let c = 0; c < dim; c++) expect(out[i * dim + c]).toBeCloseTo(norm > 0 ? sum[c]! / norm : 0, 5);
        });
      }
    },
  );

  it('hashes a model file in slices to the same SHA-256 as in one piece (across slice edges)', async () => {
    const rnd = new Random(SEED);
    const MiB = 1 << 20;
    for (const n of [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 12_345]) {
      const data = new Uint8Array(n);
      for (let i = 0; i < n; i++) data[i] = rnd.int(0, 256);
      expect(await sha256Sliced(data)).toBe(sha256(data));
    }
    // and one known digest (FIPS 180-2's "abc")
    expect(await sha256Sliced(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('refuses corrupt, mismatched or missing model files with the reason', async () => {
    const js = createBackend('js');
    const corrupt = await writeModel(table, dim);
    await writeFile(join(corrupt, 'table.bin'), new Uint8Array(table.byteLength)); // right size, wrong bytes
    await expect(StaticEmbedder.load(corrupt, js)).rejects.toThrow(/table\.bin does not match its sha256/);
    await expect(
      StaticEmbedder.load(
        await writeModel(table, dim, (m) => ((m.files as Array<Record<string, unknown>>)[0]!.shape = [3, 5])),
        js,
      ),
    ).rejects.toThrow(/does not match vocab 12 x dim 5/);
    await expect(StaticEmbedder.load(await writeModel(table, dim, (m) => (m.kind = 'onnx')), js)).rejects.toThrow(
      /not a static embedder/,
    );
    await expect(
      StaticEmbedder.load(
        await writeModel(
          table,
          dim,
          (m) => ((m.files as Array<Record<string, unknown>>)[1]!.path = '../../etc/passwd'),
        ),
        js,
      ),
    ).rejects.toThrow(/inside the model folder/);
    await expect(StaticEmbedder.load(join(tmpdir(), 'no-such-model'), js)).rejects.toThrow(
      /cannot read manifest\.json/,
    );
    const emb = await StaticEmbedder.load(await writeModel(table, dim), js);
    await expect(emb.embed(['a', 3] as never)).rejects.toThrow(/texts must be an array of strings/);
  });
});

describe('the default model (models/default)', () => {
  it('loads with verified checksums and places paraphrases closer than unrelated prompts', async () => {
    const emb = await StaticEmbedder.load(new URL('../models/default', import.meta.url).pathname, createBackend('js'));
    expect(emb.dim).toBe(emb.manifest.dim);
    const v = await emb.embed([
      'How do I sort a list in Python?',
      'python: sorting a list of numbers',
      'What is the capital city of France?',
      'Which city is the capital of France?',
    ]);
    const d = emb.dim;
    const cos = (i: number, j: number) => v.subarray(i * d, (i + 1) * d).reduce((s, x, c) => s + x * v[j * d + c]!, 0);
    expect(cos(0, 1)).toBeGreaterThan(cos(0, 2));
    expect(cos(2, 3)).toBeGreaterThan(cos(1, 3));
    for (let i = 0; i < 4; i++) expect(cos(i, i)).toBeCloseTo(1, 5);
  });
});

describe('native tokenizer', () => {
  it('segments exactly as the JS reference on random text (default vocabulary and a random one with duplicates)', async () => {
    const stat = await StaticEmbedder.load(defaultModelDir(), availableBackends()[0]!);
    const native = stat.tokenizer;
    const js = new UnigramTokenizer(native.vocabulary, { reserved: 6, unkId: 0, native: false });
    expect(native.isNative).toBe(true);
    const alphabet = [
      'the',
      ' ',
      'ing',
      'é',
      'ß',
      '日本',
      '😀',
      '\u0301',
      'x',
      'Ⅻ',
      '\n',
      'ﬁ',
      '\uD800',
      'abc',
      '1',
      '.',
    ];
    const text = fc
      .array(fc.oneof(fc.constantFrom(...alphabet), fc.string({ unit: 'binary', maxLength: 6 })), { maxLength: 40 })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(fc.array(text, { maxLength: 8 }), (texts) => {
        expect(native.encodeBatch(texts)).toEqual(js.encodeBatch(texts));
      }),
      { numRuns: 300 },
    );
    // a small random vocabulary, duplicates included: the first of duplicates is produced by both
    const pieces: Array<[string, number]> = [
      ['<unk>', 0],
      ['<s>', 0],
    ];
    for (let i = 0; i < 60; i++)
      pieces.push([
        Array.from({ length: 1 + (i % 3) }, () => '▁ab c'[Math.floor(Math.random() * 5)]).join(''),
        -1 - Math.random() * 10,
      ]);
    const a = new UnigramTokenizer(pieces, { reserved: 2, unkId: 0 });
    const b = new UnigramTokenizer(pieces, { reserved: 2, unkId: 0, native: false });
    const texts = Array.from({ length: 200 }, () =>
      Array.from({ length: Math.floor(Math.random() * 30) }, () => 'ab cdé😀'[Math.floor(Math.random() * 8)]).join(''),
    );
    expect(a.encodeBatch(texts)).toEqual(b.encodeBatch(texts));
  });

  it('segments word by word (its cache of words) tie for tie as the JS reference segments the whole text', () => {
    // pieces with '▁' only first (the native word path), scores from a few values (equal sums are
    // common), words repeated (cache hits), lone high surrogates before spaces (no word boundary
    // there), two vocabularies taking turns on the same threads
    const values = [-1, -2, -3, -1.5, -2.5, -0.1 * 3];
    const letters = 'abcé😀\uD800';
    const pick = (s: string) => s[Math.floor(Math.random() * s.length)]!;
    const vocabFor = (): Array<[string, number]> => {
      const v: Array<[string, number]> = [
        ['<unk>', 0],
        ['▁', -2],
      ];
      while (v.length < 40) {
        let p = Math.random() < 0.4 ? '▁' : '';
        for (let k = 1 + Math.floor(Math.random() * 3); k > 0; k--) p += pick('abcé');
        v.push([p, values[Math.floor(Math.random() * values.length)]!]);
      }
      return v;
    };
    const vocabs = [vocabFor(), vocabFor()];
    const native = vocabs.map((v) => new UnigramTokenizer(v, { reserved: 1, unkId: 0 }));
    const js = vocabs.map((v) => new UnigramTokenizer(v, { reserved: 1, unkId: 0, native: false }));
    expect(native.every((t) => t.isNative)).toBe(true);
    const words = Array.from({ length: 10 }, () =>
      Array.from({ length: 1 + Math.floor(Math.random() * 4) }, () => pick(letters)).join(''),
    );
    for (let round = 0; round < 40; round++) {
      const texts = Array.from({ length: 20 }, () =>
        Array.from({ length: Math.floor(Math.random() * 12) }, () => pick(' ') + words[Math.floor(Math.random() * 10)]!)
          .join('')
          .trimStart(),
      );
      const v = round % 2;
      expect(native[v]!.encodeBatch(texts)).toEqual(js[v]!.encodeBatch(texts));
    }
  });
});
