export {
  Manifold,
  MERGE_MEMORY,
  type ManifoldOptions,
  type PointInput,
  type PointKind,
  type Vote,
} from './manifold.js';
export { saveManifold, loadManifold, type ManifoldGraphFile, type SavedManifold } from './persist.js';
export { kmeans, type Clustering } from './cluster.js';
