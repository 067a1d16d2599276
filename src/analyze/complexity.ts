/** The heuristic complexity prior of a prompt from its features. */
import type { Features } from './features.js';

/** Heuristic complexity prior in [0, 1]; weights are hand-set, to be replaced by learned ones. */
export function complexityOf(f: Features, examples = 0): number {
  const z =
    -3 +
    0.45 * Math.log1p(f.words) +
    0.5 * Math.min(4, f.reasoningCues) +
    0.25 * Math.min(6, f.constraints) +
    0.3 * Math.min(5, f.mathDensity) +
    1.2 * f.codeLineShare +
    0.4 * Math.min(3, f.codeBlocks) +
    0.1 * Math.min(10, f.sentences) -
    0.1 * Math.min(5, examples);
  return 1 / (1 + Math.exp(-z));
}
