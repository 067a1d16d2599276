export { UnigramTokenizer, type TokenizerOptions, type Vocabulary } from './tokenizer.js';
export { StaticEmbedder } from './static.js';
export { readManifest, type Manifest, type ManifestFile } from './manifest.js';
