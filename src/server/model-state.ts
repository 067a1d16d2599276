/** A model's state as /health and the dashboard show it, from its gate. */
import type { ModelGate } from '../providers/index.js';

export type ModelState = 'healthy' | 'cooling down' | 'half-open' | 'saturated' | 'rate limited';

export function modelState(gate: ModelGate): ModelState {
  const b = gate.breaker();
  return b === 'open'
    ? 'cooling down'
    : b === 'half-open'
      ? 'half-open'
      : gate.saturated
        ? 'saturated'
        : gate.rateLimited
          ? 'rate limited'
          : 'healthy';
}
