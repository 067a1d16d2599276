export type {
  Activation,
  BackendName,
  ComputeBackend,
  DenseLayer,
  DType,
  EmbeddingTable,
  EmbedPoolOptions,
  IdType,
  Ids,
  IndexOptions,
  Metric,
  MlpWeights,
  SearchResult,
  VectorIndex,
} from './types.js';
export { ACTIVATIONS, BACKEND_NAMES, oneLayer } from './types.js';
export {
  createBackend,
  probeBackend,
  probeBackends,
  selectBackend,
  type BackendStatus,
  type Selection,
} from './select.js';
export { floatToHalf, halfToFloat, toHalf, fromHalf } from './fp16.js';
export {
  loadAddon,
  loadReport,
  type LoadAttempt,
  type NativeAnalyzerHandle,
  type NativePassResult,
  type NativeRoutePassHandle,
  type NativeTokenizerHandle,
} from './addon.js';
export { nativeHandles, SYNC_WORK_NS } from './native.js';
export { int32Ids, int64Ids } from './ids.js';
export { ApproximateIndex, loadUsearch, type ApproximateOptions, type SavedGraph } from './approximate.js';
