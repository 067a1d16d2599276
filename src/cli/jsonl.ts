/** JSONL input and output shared by the batch commands (route, rerank). */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

import { ArbiterError, ErrorCodes } from '../errors.js';

/** One input line: a JSON object with a string `prompt` and an optional string/number `id`; the object for further fields. */
export function parsePromptLine(
  line: string,
  lineNo: number,
): { o: Record<string, unknown>; prompt: string; id?: string | number } | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return { error: `line ${lineNo}: not JSON (${(e as Error).message})` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return { error: `line ${lineNo}: must be a JSON object` };
  const o = v as Record<string, unknown>;
  if (typeof o.prompt !== 'string') return { error: `line ${lineNo}: "prompt" must be a string` };
  if (o.id !== undefined && typeof o.id !== 'string' && typeof o.id !== 'number')
    return { error: `line ${lineNo}: "id" must be a string or a number` };
  return { o, prompt: o.prompt, ...(o.id !== undefined ? { id: o.id as string | number } : {}) };
}

/** The input stream ('-': stdin), once it is open; an unreadable file is ARB_INVALID_ARGUMENT. */
export async function openInput(path: string): Promise<Readable> {
  if (path === '-') return process.stdin;
  const input = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    input
      .once('open', () => resolve())
      .once('error', (e: NodeJS.ErrnoException) =>
        reject(new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `cannot read ${path}: ${e.code}`, { param: 'in' })),
      );
  });
  return input;
}

/** Writes with backpressure. */
export async function write(out: Writable | NodeJS.WritableStream, text: string | Uint8Array): Promise<void> {
  if (!out.write(text)) await once(out as Writable, 'drain');
}
