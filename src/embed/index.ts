export { joinTexts, UnigramTokenizer, type TokenizerOptions, type Vocabulary } from './tokenizer.js';
export { StaticEmbedder } from './static.js';
export { readManifest, readModelFile, sha256, type Manifest, type ManifestFile } from './manifest.js';
export { OnnxEmbedder, openOnnxModel, type OnnxEmbedderOptions, type OnnxModel } from './onnx.js';
export { UseEmbedder } from './use.js';
export { WordPieceTokenizer, type WordPieceOptions } from './wordpiece.js';
export { parseHfTokenizer, type HfTokenizer } from './hf-tokenizer.js';
export { loadEmbedder, parseEmbedderSpec, EMBEDDER_SPECS } from './load.js';
export type { Embedder, TextTokenizer } from './types.js';
