/**
 * The default embedder: a token-vector table and its tokenizer, pooled by the compute backend's
 * embedPool (weighted sum of rows, L2-normalised). Token weights are baked into the rows when
 * the table is made, so pooling needs no per-token weights.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ComputeBackend, EmbeddingTable } from '../compute/index.js';
import { readManifest, readModelFile, type Manifest } from './manifest.js';
import { UnigramTokenizer, type Vocabulary } from './tokenizer.js';
import type { Embedder } from './types.js';

export class StaticEmbedder implements Embedder {
  readonly kind = 'static' as const;

  private constructor(
    readonly manifest: Manifest,
    readonly tokenizer: UnigramTokenizer,
    /** The token-vector table (the fused routing pass pools it natively). */
    readonly table: EmbeddingTable,
    readonly backend: ComputeBackend,
  ) {}

  get dim(): number {
    return this.table.dim;
  }

  get name(): string {
    return this.manifest.name;
  }

  /** The table's SHA-256. */
  get fingerprint(): string {
    return this.manifest.files.find((f) => f.kind === 'table')?.sha256 ?? '';
  }

  /** Loads models/<name> (verifying every file against the manifest). */
  static async load(dir: string, backend: ComputeBackend): Promise<StaticEmbedder> {
    const m = await readManifest(dir);
    if (m.kind !== 'static-embedder' || !m.tokenizer)
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `model ${dir}: kind '${m.kind}' is not a static embedder`, {
        param: 'model',
      });
    const tab = await readModelFile(dir, m, 'table');
    const tok = await readModelFile(dir, m, 'tokenizer');
    let vocab: Vocabulary;
    try {
      vocab = JSON.parse(tok.data.toString('utf8')) as Vocabulary;
    } catch (e) {
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        `model ${dir}: ${tok.file.path} is not JSON: ${(e as Error).message}`,
        { param: 'model' },
      );
    }
    const tokenizer = new UnigramTokenizer(vocab, { reserved: m.tokenizer.reserved, unkId: m.tokenizer.unkId });
    const [vocabRows, dim] = tab.file.shape ?? [];
    if (vocabRows !== tokenizer.size || dim !== m.dim)
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        `model ${dir}: table shape ${JSON.stringify(tab.file.shape)} does not match vocab ${tokenizer.size} x dim ${m.dim}`,
        { param: 'model' },
      );
    const bytes = new Uint8Array(tab.data.buffer, tab.data.byteOffset, tab.data.byteLength).slice(); // aligned copy
    const data = tab.file.dtype === 'f16' ? new Uint16Array(bytes.buffer) : new Float32Array(bytes.buffer);
    if (data.length !== vocabRows * dim)
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        `model ${dir}: ${tab.file.path} holds ${data.length} values, expected ${vocabRows * dim}`,
        { param: 'model' },
      );
    return new StaticEmbedder(m, tokenizer, { data, vocab: vocabRows, dim }, backend);
  }

  /** Unit-length embeddings of the texts, n x dim (a text with no known token embeds to zeros). */
  async embed(texts: readonly string[]): Promise<Float32Array> {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string'))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'texts must be an array of strings', { param: 'texts' });
    const { ids, offsets } = this.tokenizer.encodeBatch(texts);
    return this.backend.embedPool(this.table, ids, offsets);
  }
}
