/**
 * Any ONNX sentence-embedding model with its Hugging Face tokenizer.json, run by onnxruntime-node
 * (CPU execution provider). Inputs it feeds by name: input_ids, attention_mask and
 * token_type_ids (zeros), int64, padded to the longest text of the batch. Output: the one named
 * sentence_embedding (or the first) — rank 2 is used as is, rank 3 (token embeddings) is mean
 * pooled over the attention mask; rows are L2-normalised.
 */
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { parseHfTokenizer, type HfTokenizer } from './hf-tokenizer.js';
import type { Embedder } from './types.js';

export interface OnnxEmbedderOptions {
  /** Texts per session run (default 32). */
  batchSize?: number;
  /** Overrides the tokenizer's truncation length. */
  maxLength?: number;
  /** onnxruntime intra-op threads (default: all cores). */
  threads?: number;
}

// an optional dependency: loaded with import() at run time, typed from its declarations
// eslint-disable-next-line @typescript-eslint/consistent-type-imports -- a type-only view of an optional module
export type Ort = typeof import('onnxruntime-node');
export type OrtSession = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

export interface OnnxModel {
  ort: Ort;
  session: OrtSession;
  tok: HfTokenizer;
  modelPath: string;
  name: string;
  /** sha256 of the graph and the tokenizer. */
  fingerprint: string;
}

/**
 * Opens an ONNX model and its tokenizer.json: `path` is a folder with model.onnx and
 * tokenizer.json, or an .onnx file with tokenizer.json beside it. Errors name `what` and `param`.
 */
export async function openOnnxModel(
  path: string,
  what: string,
  param: string,
  options: { maxLength?: number; threads?: number } = {},
): Promise<OnnxModel> {
  let modelPath = path;
  try {
    if ((await stat(path)).isDirectory()) modelPath = join(path, 'model.onnx');
  } catch (e) {
    throw new ArbiterError(
      ErrorCodes.NOT_FOUND,
      `${what}: cannot read ${path} (${(e as NodeJS.ErrnoException).code})`,
      { param },
    );
  }
  const tokPath = join(dirname(modelPath), 'tokenizer.json');
  const read = async (p: string) => {
    try {
      return await readFile(p);
    } catch (e) {
      throw new ArbiterError(ErrorCodes.NOT_FOUND, `${what}: cannot read ${p} (${(e as NodeJS.ErrnoException).code})`, {
        param,
      });
    }
  };
  const [modelBytes, tokBytes] = await Promise.all([read(modelPath), read(tokPath)]);
  const tok = parseHfTokenizer(tokBytes.toString('utf8'));
  if (options.maxLength !== undefined) {
    if (!(Number.isInteger(options.maxLength) && options.maxLength > tok.prefix.length + tok.suffix.length))
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        'maxLength must be an integer longer than the special tokens',
        { param: 'maxLength' },
      );
    tok.maxLength = options.maxLength;
  }
  let ort: Ort;
  try {
    ort = (await import('onnxruntime-node')) as Ort;
  } catch (e) {
    throw new ArbiterError(
      ErrorCodes.BACKEND_UNAVAILABLE,
      `the ${what} needs onnxruntime-node (npm install onnxruntime-node): ${(e as Error).message}`,
      { param },
    );
  }
  let session: OrtSession;
  try {
    session = await ort.InferenceSession.create(modelBytes, {
      intraOpNumThreads: options.threads ?? cpus().length,
      executionProviders: ['cpu'],
    });
  } catch (e) {
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `${what}: ${modelPath} does not load: ${(e as Error).message}`,
      { param },
    );
  }
  if (!session.inputNames.includes('input_ids'))
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `${what}: ${modelPath} has no input_ids input (inputs: ${session.inputNames.join(', ')})`,
      { param },
    );
  const fingerprint = createHash('sha256').update(modelBytes).update(tokBytes).digest('hex');
  return {
    ort,
    session,
    tok,
    modelPath,
    name: basename(modelPath === join(path, 'model.onnx') ? path : modelPath),
    fingerprint,
  };
}

export class OnnxEmbedder implements Embedder {
  readonly kind = 'onnx' as const;

  private constructor(
    private readonly ort: Ort,
    private readonly session: OrtSession,
    private readonly tok: HfTokenizer,
    readonly name: string,
    readonly fingerprint: string,
    readonly dim: number,
    private readonly output: string,
    private readonly batchSize: number,
  ) {}

  /**
   * `path`: a folder with model.onnx and tokenizer.json, or an .onnx file with tokenizer.json
   * beside it.
   */
  static async load(path: string, options: OnnxEmbedderOptions = {}): Promise<OnnxEmbedder> {
    const batchSize = options.batchSize ?? 32;
    if (!(Number.isInteger(batchSize) && batchSize > 0))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'batchSize must be a positive integer', {
        param: 'batchSize',
      });
    const { ort, session, tok, name, fingerprint } = await openOnnxModel(path, 'onnx embedder', 'embedder', options);
    const output = session.outputNames.includes('sentence_embedding') ? 'sentence_embedding' : session.outputNames[0]!;
    const probe = new OnnxEmbedder(ort, session, tok, name, fingerprint, 0, output, batchSize);
    const { dim } = await probe.run(['dimension probe']);
    return new OnnxEmbedder(ort, session, tok, name, fingerprint, dim, output, batchSize);
  }

  private ids(text: string): number[] {
    const body = this.tok.tokenizer
      .encode(text)
      .slice(0, this.tok.maxLength - this.tok.prefix.length - this.tok.suffix.length);
    return [...this.tok.prefix, ...body, ...this.tok.suffix];
  }

  /** One session run over a batch: unit rows and their width. */
  private async run(texts: readonly string[]): Promise<{ rows: Float32Array; dim: number }> {
    const seqs = texts.map((t) => this.ids(t));
    const B = seqs.length;
    const T = Math.max(1, ...seqs.map((s) => s.length));
    const ids = new BigInt64Array(B * T).fill(BigInt(this.tok.padId));
    const mask = new BigInt64Array(B * T);
    seqs.forEach((s, b) =>
      s.forEach((id, t) => {
        ids[b * T + t] = BigInt(id);
        mask[b * T + t] = 1n;
      }),
    );
    const feeds: Record<string, InstanceType<Ort['Tensor']>> = { input_ids: new this.ort.Tensor('int64', ids, [B, T]) };
    if (this.session.inputNames.includes('attention_mask'))
      feeds.attention_mask = new this.ort.Tensor('int64', mask, [B, T]);
    if (this.session.inputNames.includes('token_type_ids'))
      feeds.token_type_ids = new this.ort.Tensor('int64', new BigInt64Array(B * T), [B, T]);
    let out;
    try {
      out = (await this.session.run(feeds))[this.output]!;
    } catch (e) {
      throw new ArbiterError(ErrorCodes.NATIVE_ERROR, `onnx embedder: run failed: ${(e as Error).message}`, {
        param: 'embedder',
      });
    }
    const data = out.data as Float32Array;
    const dims = out.dims;
    let rows: Float32Array;
    let dim: number;
    if (dims.length === 2 && dims[0] === B) {
      dim = dims[1]!;
      rows = Float32Array.from(data);
    } else if (dims.length === 3 && dims[0] === B && dims[1] === T) {
      dim = dims[2]!;
      rows = new Float32Array(B * dim);
      for (let b = 0; b < B; b++) {
        const n = seqs[b]!.length;
        for (let t = 0; t < n; t++)
          for (let j = 0; j < dim; j++) rows[b * dim + j]! += data[(b * T + t) * dim + j]! / n;
      }
    } else {
      throw new ArbiterError(
        ErrorCodes.UNSUPPORTED,
        `onnx embedder: output ${this.output} has shape [${dims.join(', ')}]; expected [batch, dim] or [batch, tokens, dim]`,
        { param: 'embedder' },
      );
    }
    for (let b = 0; b < B; b++) {
      const row = rows.subarray(b * dim, (b + 1) * dim);
      let ss = 0;
      for (const v of row) ss += v * v;
      if (!Number.isFinite(ss))
        throw new ArbiterError(ErrorCodes.NOT_FINITE, `onnx embedder: non-finite output for text ${b}`, {
          param: 'embedder',
        });
      if (ss > 0) row.forEach((v, j) => (row[j] = v / Math.sqrt(ss)));
    }
    return { rows, dim };
  }

  async embed(texts: readonly string[]): Promise<Float32Array> {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string'))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'texts must be an array of strings', { param: 'texts' });
    const out = new Float32Array(texts.length * this.dim);
    for (let i = 0; i < texts.length; i += this.batchSize) {
      const { rows, dim } = await this.run(texts.slice(i, i + this.batchSize));
      if (dim !== this.dim)
        throw new ArbiterError(
          ErrorCodes.DIMENSION_MISMATCH,
          `onnx embedder: output width changed from ${this.dim} to ${dim}`,
          { param: 'embedder' },
        );
      out.set(rows, i * this.dim);
    }
    return out;
  }
}
