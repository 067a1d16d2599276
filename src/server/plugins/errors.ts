/**
 * Errors as one shape with stable codes: `{error: {code, message, param?}}`, the HTTP status from
 * the catalogue. Schema failures name the key path; anything that is not an ArbiterError is a bug:
 * logged with its stack, answered 500 ARB_INTERNAL without internals.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

import { ArbiterError, ErrorCodes, httpStatus, isArbiterError } from '../../errors.js';

/** OpenAI's error `type` for a status (clients read error.type). */
export function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function errorBody(e: ArbiterError) {
  return {
    error: {
      message: e.message,
      type: errorType(httpStatus(e.code)),
      param: e.param ?? null,
      code: e.code,
    },
  };
}

type FastifyLikeError = {
  validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>;
  code?: string;
  statusCode?: number;
  message?: string;
};

/** The key path of a schema failure: "arbiter.beam_width", or the unknown / missing key. */
function validationPath(v: NonNullable<FastifyLikeError['validation']>[number] | undefined): string {
  const base = (v?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const key = v?.params?.additionalProperty ?? v?.params?.missingProperty;
  return key === undefined ? base : `${base}${base ? '.' : ''}${String(key)}`;
}

function fromFastifyError(
  err: unknown,
  bodyLimit: number,
  log: FastifyInstance['log'],
): { e: ArbiterError; status?: number } {
  const fe = err as FastifyLikeError;
  if (isArbiterError(err)) return { e: err };
  if (fe.validation) {
    const path = validationPath(fe.validation[0]);
    return {
      e: new ArbiterError(
        ErrorCodes.INVALID_REQUEST,
        `${path || 'body'} ${fe.validation[0]?.message ?? 'is invalid'}`,
        { param: path || 'body' },
      ),
    };
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return {
      e: new ArbiterError(ErrorCodes.PAYLOAD_TOO_LARGE, `request body larger than ${bodyLimit} bytes`, {
        param: 'body',
      }),
    };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)
    return {
      e: new ArbiterError(ErrorCodes.INVALID_REQUEST, fe.message ?? 'bad request', { param: 'body' }),
      status: fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : fe.statusCode,
    };
  log.error({ err }, 'internal error');
  return { e: new ArbiterError(ErrorCodes.INTERNAL, 'internal error', {}) };
}

export const errorsPlugin = fp<{ bodyLimit: number }>(
  async (app, o) => {
    app.setErrorHandler((err: unknown, _req, reply) => {
      const { e, status } = fromFastifyError(err, o.bodyLimit, app.log);
      if (e.retryAfterMs !== undefined)
        reply.header('retry-after', String(Math.max(1, Math.ceil(e.retryAfterMs / 1000))));
      // a refused client does not keep its connection (nor the body it may still be sending)
      if (e.code === ErrorCodes.UNAUTHORIZED || e.code === ErrorCodes.FORBIDDEN) reply.header('connection', 'close');
      void reply.code(status ?? httpStatus(e.code)).send(errorBody(e));
    });
    app.setNotFoundHandler((req, reply) => {
      void reply
        .code(404)
        .send(
          errorBody(
            new ArbiterError(ErrorCodes.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`, { param: 'url' }),
          ),
        );
    });
  },
  { name: 'arbiter-errors' },
);
