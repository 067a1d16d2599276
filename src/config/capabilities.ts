/** What a model can take: its configured capabilities, or its provider kind's defaults. */
import { DEFAULT_CAPABILITIES, type CAPABILITIES } from './schema.js';
import type { ModelSpec } from './types.js';

export type Capability = (typeof CAPABILITIES)[number];

export function capabilitiesOf(m: Pick<ModelSpec, 'capabilities' | 'provider'>): readonly Capability[] {
  return m.capabilities ?? DEFAULT_CAPABILITIES[m.provider.kind as keyof typeof DEFAULT_CAPABILITIES] ?? [];
}
