/**
 * Server-sent events: the chunks (and comment lines, for progress), then [DONE] — or an error
 * event, never a clean finish, if the stream breaks.
 */
import type { FastifyReply } from 'fastify';

import type { ChatChunk } from '../providers/index.js';
import { ArbiterError, ErrorCodes, isArbiterError } from '../errors.js';
import { errorBody } from './plugins/errors.js';

export async function sendStream(
  reply: FastifyReply,
  chunks: AsyncIterable<ChatChunk | object>,
  headers: Record<string, string>,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  const send = (line: string) =>
    new Promise<void>((resolve) => {
      if (res.destroyed) return resolve();
      if (res.write(line)) resolve();
      else res.once('drain', resolve);
    });
  const write = (data: string) => send(`data: ${data}\n\n`);
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) break; // the client went away: stop reading (the engine releases the slot)
      // a comment line (pipeline progress): no newlines may pass into it
      if (typeof (chunk as ChatChunk).progress === 'string')
        await send(`: ${(chunk as ChatChunk).progress!.replace(/[\r\n]+/g, ' ')}\n\n`);
      else await write(JSON.stringify(chunk));
    }
    await write('[DONE]');
  } catch (e) {
    const err = isArbiterError(e)
      ? e
      : new ArbiterError(ErrorCodes.STREAM_INTERRUPTED, `the stream broke after it started: ${(e as Error).message}`, {
          param: 'model',
        });
    await write(JSON.stringify(errorBody(err)));
  } finally {
    res.end();
  }
}
