/**
 * Planted upstream latency for the comparison bench: model `m<i>` answers a prompt after a
 * lognormal delay with median 5 + 5·i ms (σ = 0.5), fixed by a hash of the model and the prompt —
 * the bench recomputes each call's delay to measure what orchestration added.
 */
import { createHash } from 'node:crypto';

export function plantedMs(model: string, prompt: string): number {
  const i = Number(/^m(\d+)$/.exec(model)?.[1] ?? 0);
  const h = createHash('sha256').update(`${model}\u0000${prompt}`).digest();
  const u1 = (h.readUInt32BE(0) + 1) / 2 ** 32;
  const u2 = h.readUInt32BE(4) / 2 ** 32;
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return (5 + 5 * i) * Math.exp(0.5 * z);
}
