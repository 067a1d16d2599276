/**
 * POST /v1/embeddings, answered by arbiter's own embedder — the one the router uses (by default the
 * static embedder: `model: "arbiter-static"`) — free and offline, in OpenAI's shape (float arrays
 * or base64 of little-endian float32). A model id that is not an embedder here is ARB_NOT_FOUND
 * naming the one there is.
 */
import type { FastifyInstance } from 'fastify';

import { embeddingRequestSchema } from '../../config/index.js';
import { ArbiterError, ErrorCodes } from '../../errors.js';
import { estimateTokens } from '../../text.js';
import type { EngineHost } from '../host.js';

/** The id clients use for the router's embedder: arbiter-<kind> (arbiter-static by default). */
export const embedderModelId = (kind: string) => `arbiter-${kind}`;

export function embeddingRoutes(app: FastifyInstance, host: EngineHost): void {
  app.post(
    '/v1/embeddings',
    { onRequest: app.requireRole('client'), schema: { body: embeddingRequestSchema } },
    async (req) => {
      const { model, input, encoding_format, dimensions } = req.body as {
        model: string;
        input: string | string[];
        encoding_format?: 'float' | 'base64';
        dimensions?: number;
      };
      const embedder = host.current.router.embedder;
      const id = embedderModelId(embedder.kind);
      if (model !== id)
        throw new ArbiterError(ErrorCodes.NOT_FOUND, `no embedding model ${JSON.stringify(model)} here; use ${id}`, {
          param: 'model',
        });
      if (dimensions !== undefined && dimensions !== embedder.dim)
        throw new ArbiterError(
          ErrorCodes.INVALID_REQUEST,
          `${id} makes ${embedder.dim} dimensions, not ${dimensions}`,
          {
            param: 'dimensions',
          },
        );
      const texts = typeof input === 'string' ? [input] : input;
      const flat = await embedder.embed(texts);
      const d = embedder.dim;
      const tokens = texts.reduce((n, t) => n + estimateTokens(t), 0);
      return {
        object: 'list',
        model: id,
        data: texts.map((_, index) => {
          const v = flat.subarray(index * d, (index + 1) * d);
          return {
            object: 'embedding',
            index,
            embedding:
              encoding_format === 'base64'
                ? Buffer.from(Float32Array.from(v).buffer).toString('base64')
                : Array.from(v, (x) => Number(x.toPrecision(7))),
          };
        }),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
    },
  );
}
