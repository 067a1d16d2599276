// The embedders behind one interface: onnx (graphs this test builds with protobufjs, checked
// against the static embedder and a plain-JS reference on fresh random texts), WordPiece and
// Unigram tokenizer.json parsing, use (the teacher), and spec errors.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildModel, type GraphSpec } from '../bench/lib/onnx.js';
import { defaultModelDir } from '../src/paths.js';
import { availableBackends } from './helpers.js';
import { fromHalf } from '../src/compute/index.js';
import {
  loadEmbedder,
  OnnxEmbedder,
  parseHfTokenizer,
  StaticEmbedder,
  UseEmbedder,
  WordPieceTokenizer,
} from '../src/embed/index.js';

const backend = availableBackends()[0]!;

/** Token embeddings graph: Gather(table, input_ids) -> [B, T, d] (rank 3: the embedder pools). */
function tokenGraph(table: Float32Array, vocab: number, dim: number): GraphSpec {
  return {
    inputs: [
      { name: 'input_ids', shape: ['B', 'T'], type: 'int64' },
      { name: 'attention_mask', shape: ['B', 'T'], type: 'int64' },
    ],
    outputs: [{ name: 'token_embeddings', shape: ['B', 'T', dim] }],
    nodes: [{ op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['token_embeddings'] }],
    floatConstants: { table: { dims: [vocab, dim], data: table } },
  };
}

/** Pooled graph: masked sum over tokens inside the graph -> sentence_embedding [B, d] (rank 2). */
function pooledGraph(table: Float32Array, vocab: number, dim: number): GraphSpec {
  return {
    inputs: [
      { name: 'input_ids', shape: ['B', 'T'], type: 'int64' },
      { name: 'attention_mask', shape: ['B', 'T'], type: 'int64' },
      { name: 'token_type_ids', shape: ['B', 'T'], type: 'int64' },
    ],
    outputs: [
      { name: 'token_embeddings', shape: ['B', 'T', dim] },
      { name: 'sentence_embedding', shape: ['B', dim] },
    ],
    nodes: [
      { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['token_embeddings'] },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['maskf'], ints: { to: 1 } },
      { op: 'Unsqueeze', inputs: ['maskf', 'axis2'], outputs: ['mask3'] },
      { op: 'Mul', inputs: ['token_embeddings', 'mask3'], outputs: ['masked'] },
      { op: 'ReduceSum', inputs: ['masked', 'axis1'], outputs: ['sentence_embedding'], ints: { keepdims: 0 } },
    ],
    int64Constants: { axis1: [1], axis2: [2] },
    floatConstants: { table: { dims: [vocab, dim], data: table } },
  };
}

function randomTexts(n: number, words: string[]): string[] {
  return Array.from({ length: n }, () => {
    const len = Math.floor(Math.random() * 40);
    return Array.from({ length: len }, () =>
      Math.random() < 0.9
        ? words[Math.floor(Math.random() * words.length)]!
        : String.fromCharCode(33 + Math.floor(Math.random() * 500)),
    ).join(Math.random() < 0.8 ? ' ' : '');
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The default static embedder as an ONNX folder: fp32 table + a Hugging Face Unigram tokenizer.json. */
async function exportDefault(graph: typeof tokenGraph): Promise<{ dir: string; stat: StaticEmbedder }> {
  const stat = await StaticEmbedder.load(defaultModelDir(), backend);
  const vocab = JSON.parse(await readFile(join(defaultModelDir(), 'tokenizer.json'), 'utf8')) as Array<
    [string, number]
  >;
  const half = new Uint16Array(new Uint8Array(await readFile(join(defaultModelDir(), 'table.f16.bin'))).buffer);
  const table = fromHalf(half);
  const dir = await mkdtemp(join(tmpdir(), 'arbiter-onnx-'));
  await writeFile(join(dir, 'model.onnx'), buildModel(graph(table, vocab.length, stat.dim)));
  const reserved = stat.manifest.tokenizer!.reserved;
  const tok = {
    version: '1.0',
    added_tokens: vocab.slice(0, reserved).map(([content], id) => ({ id, content, special: true })),
    normalizer: { type: 'NFKC' },
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always' },
    post_processor: null,
    model: { type: 'Unigram', unk_id: stat.manifest.tokenizer!.unkId, vocab },
  };
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tok));
  return { dir, stat };
}

describe('onnx embedder', () => {
  it('runs the static embedder exported as ONNX (token embeddings, pooled here) to the same vectors on random texts (|diff| <= 1e-5)', async () => {
    const { dir, stat } = await exportDefault(tokenGraph);
    const onnx = await OnnxEmbedder.load(dir, { batchSize: 7 });
    expect(onnx.dim).toBe(stat.dim);
    const words = stat.tokenizer.vocabulary.slice(100, 2000).map(([p]) => p.replace('\u2581', ''));
    const texts = [...randomTexts(50, words), '', 'a'];
    const [a, b] = [await onnx.embed(texts), await stat.embed(texts)];
    expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-5);
    expect(onnx.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it("uses a graph's pooled sentence_embedding output and feeds token_type_ids (|diff| <= 1e-5)", async () => {
    const { dir, stat } = await exportDefault(pooledGraph);
    const onnx = await OnnxEmbedder.load(join(dir, 'model.onnx'));
    const words = stat.tokenizer.vocabulary.slice(2000, 4000).map(([p]) => p.replace('\u2581', ''));
    const texts = randomTexts(40, words);
    expect(maxAbsDiff(await onnx.embed(texts), await stat.embed(texts))).toBeLessThanOrEqual(1e-5);
  });

  it('runs a WordPiece tokenizer.json with [CLS]/[SEP] from its post-processor against a plain-JS reference', async () => {
    const pieces = [
      '[PAD]',
      '[UNK]',
      '[CLS]',
      '[SEP]',
      'hello',
      'world',
      '##s',
      ',',
      'un',
      '##aff',
      '##able',
      'cafe',
      'the',
      'a',
      '##b',
      'b',
    ];
    const dim = 12;
    const table = Float32Array.from({ length: pieces.length * dim }, () => Math.random() * 2 - 1);
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-onnx-wp-'));
    await writeFile(join(dir, 'model.onnx'), buildModel(tokenGraph(table, pieces.length, dim)));
    const tok = {
      added_tokens: [0, 1, 2, 3].map((id) => ({ id, content: pieces[id], special: true })),
      normalizer: {
        type: 'BertNormalizer',
        lowercase: true,
        strip_accents: null,
        clean_text: true,
        handle_chinese_chars: true,
      },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: '[CLS]', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '[SEP]', type_id: 0 } },
        ],
        special_tokens: {
          '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
          '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
        },
      },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
        vocab: Object.fromEntries(pieces.map((p, i) => [p, i])),
      },
    };
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tok));
    const parsed = parseHfTokenizer(JSON.stringify(tok));
    expect(parsed.prefix).toEqual([2]);
    expect(parsed.suffix).toEqual([3]);
    expect(parsed.tokenizer.encode('Hello, WORLDS unaffable! Café')).toEqual([4, 7, 5, 6, 8, 9, 10, 1, 11]);
    expect(parsed.tokenizer.encode('abbb zzz')).toEqual([13, 14, 14, 14, 1]);
    const onnx = await OnnxEmbedder.load(dir);
    const words = ['hello', 'world', 'worlds', 'un', 'unaffable', 'café', 'the', 'a', 'ab', 'b', 'zzz', ',', '!'];
    const texts = Array.from({ length: 30 }, () =>
      Array.from(
        { length: 1 + Math.floor(Math.random() * 12) },
        () => words[Math.floor(Math.random() * words.length)],
      ).join(' '),
    );
    const ref = new Float32Array(texts.length * dim);
    texts.forEach((t, i) => {
      const ids = [2, ...parsed.tokenizer.encode(t), 3];
      const row = ref.subarray(i * dim, (i + 1) * dim);
      for (const id of ids) for (let j = 0; j < dim; j++) row[j]! += table[id * dim + j]!;
      const norm = Math.hypot(...row);
      row.forEach((v, j) => (row[j] = v / norm));
    });
    expect(maxAbsDiff(await onnx.embed(texts), ref)).toBeLessThanOrEqual(1e-5);
  });

  it('refuses what it cannot run with typed errors', async () => {
    await expect(OnnxEmbedder.load('/nonexistent/model')).rejects.toMatchObject({ code: 'ARB_NOT_FOUND' });
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-onnx-bad-'));
    await writeFile(join(dir, 'model.onnx'), 'not a model');
    await expect(OnnxEmbedder.load(dir)).rejects.toMatchObject({ code: 'ARB_NOT_FOUND', message: /tokenizer\.json/ });
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab: {}, merges: [] } }));
    await expect(OnnxEmbedder.load(dir)).rejects.toMatchObject({ code: 'ARB_UNSUPPORTED' });
    await writeFile(
      join(dir, 'tokenizer.json'),
      JSON.stringify({ model: { type: 'WordPiece', unk_token: '[UNK]', vocab: { '[UNK]': 0 } } }),
    );
    await expect(OnnxEmbedder.load(dir)).rejects.toMatchObject({
      code: 'ARB_INVALID_ARGUMENT',
      message: /does not load/,
    });
    await expect(OnnxEmbedder.load(dir, { batchSize: 0 })).rejects.toMatchObject({ code: 'ARB_INVALID_ARGUMENT' });
    expect(() => parseHfTokenizer('{')).toThrow(/tokenizer\.json: not JSON/);
    expect(() => new WordPieceTokenizer(new Map([['a', 0]]))).toThrow(/no unknown token/);
  });
});

describe('embedder specs', () => {
  it('loads static by default and rejects unknown specs', async () => {
    const e = await loadEmbedder('static', backend);
    expect(e.kind).toBe('static');
    expect(e.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    await expect(loadEmbedder('onnx', backend)).rejects.toMatchObject({ code: 'ARB_INVALID_ARGUMENT' });
    await expect(loadEmbedder('word2vec', backend)).rejects.toMatchObject({ code: 'ARB_INVALID_ARGUMENT' });
  });
});

describe('use embedder (the teacher)', () => {
  it('gives unit 512-d rows; related prompts are closer than unrelated ones', async () => {
    const use = await UseEmbedder.load();
    expect(use.fingerprint).toMatch(/^use-lite@/);
    const v = await use.embed([
      'Write a python function to sort a list',
      'Implement list sorting in python',
      'What is the capital of France?',
      '',
    ]);
    expect(v.length).toBe(4 * 512);
    const row = (i: number) => v.subarray(i * 512, (i + 1) * 512);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, j) => s + x * b[j]!, 0);
    expect(dot(row(0), row(0))).toBeCloseTo(1, 5);
    expect(dot(row(0), row(1))).toBeGreaterThan(dot(row(0), row(2)) + 0.1);
    expect(row(3).every((x) => x === 0)).toBe(true);
  }, 60_000);
});
