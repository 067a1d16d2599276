/**
 * The one interface every embedder implements (static, use, onnx): texts in, unit-length rows out.
 */
export interface Embedder {
  readonly kind: 'static' | 'use' | 'onnx';
  /** A short human-readable name (model folder or package). */
  readonly name: string;
  readonly dim: number;
  /**
   * Identifies the embedding space (a checksum of the weights, or package and version): a router
   * model trained with one embedder is refused by another.
   */
  readonly fingerprint: string;
  /** n x dim, each row L2-normalised (a text with nothing to embed gives zeros). */
  embed(texts: readonly string[]): Promise<Float32Array>;
}

/** Texts to token ids. */
export interface TextTokenizer {
  encode(text: string): number[];
}
