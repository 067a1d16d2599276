/** Small numeric helpers shared by every layer. */

/** log-odds of a probability clamped to [0.005, 0.995] (so a certain 0 or 1 stays finite). */
export function logit(p: number): number {
  const q = Math.min(0.995, Math.max(0.005, p));
  return Math.log(q / (1 - q));
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}
