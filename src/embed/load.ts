/**
 * Embedders by name: 'static' (the default model), 'static:<dir>', 'use', 'onnx:<path>'.
 */
import type { ComputeBackend } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { defaultModelDir } from '../paths.js';
import { OnnxEmbedder } from './onnx.js';
import { StaticEmbedder } from './static.js';
import type { Embedder } from './types.js';
import { UseEmbedder } from './use.js';

export const EMBEDDER_SPECS = ['static', 'static:<dir>', 'use', 'onnx:<path>'] as const;

/** Checks a spec's form (without loading anything): its kind and argument. */
export function parseEmbedderSpec(spec: unknown): { kind: 'static' | 'use' | 'onnx'; arg: string } {
  if (typeof spec === 'string') {
    const [kind, ...rest] = spec.split(':');
    const arg = rest.join(':');
    if (kind === 'static' || (kind === 'use' && !arg) || (kind === 'onnx' && arg)) return { kind, arg };
  }
  throw new ArbiterError(
    ErrorCodes.INVALID_ARGUMENT,
    `embedder must be one of ${EMBEDDER_SPECS.join(', ')}, got ${JSON.stringify(spec)}`,
    { param: 'embedder' },
  );
}

/** Loads an embedder; `path` maps the spec's path (e.g. relative to a config file). */
export async function loadEmbedder(
  spec: string,
  backend: ComputeBackend,
  path: (p: string) => string = (p) => p,
): Promise<Embedder> {
  const { kind, arg } = parseEmbedderSpec(spec);
  if (kind === 'static') return StaticEmbedder.load(arg ? path(arg) : defaultModelDir(), backend);
  if (kind === 'use') return UseEmbedder.load();
  return OnnxEmbedder.load(path(arg));
}
