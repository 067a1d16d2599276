/**
 * `arbiter route --in prompts.jsonl --out decisions.jsonl [--config file]`: streams any number
 * of prompts in constant memory. Lines are read in batches; batches are routed in a Piscina pool
 * (one router per worker thread) with a bounded number in flight, and written in input order.
 * A malformed line is reported with its line number and skipped (--strict stops there).
 */
import { createWriteStream, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';

import cliProgress from 'cli-progress';
import { Piscina } from 'piscina';

import { selectBackend } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { parseEmbedderSpec } from '../embed/index.js';
import { loadConfig, STRATEGIES, type Strategy } from '../config/index.js';
import { parseFields } from '../router/index.js';
import { openInput, parsePromptLine, write } from './jsonl.js';
import type { RouteError, RouteTask } from './route-worker.js';

export interface RouteCommandOptions {
  in: string;
  out?: string;
  config: string;
  strict?: boolean;
  batch: string;
  threads?: string;
  strategy?: string;
  model?: string;
  embedder?: string;
  fields?: string;
}

interface Item {
  id: string | number;
  prompt: string;
}

/** Parses one input line: a JSON object with a string `prompt` and an optional string/number `id` (default: the line number). */
export function parseLine(line: string, lineNo: number): Item | { error: string } {
  const p = parsePromptLine(line, lineNo);
  return 'error' in p ? p : { id: p.id ?? lineNo, prompt: p.prompt };
}

const int = (v: string | undefined, name: string, min: number, max: number, dflt: number) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `--${name} must be an integer from ${min} to ${max}, got ${v}`,
      { param: name },
    );
  return n;
};

// eslint-disable-next-line max-lines-per-function -- a command: open input, start the worker pool, stream batches in order with backpressure and progress
export async function routeCommand(o: RouteCommandOptions): Promise<void> {
  const batch = int(o.batch, 'batch', 1, 100_000, 512);
  const threads = int(o.threads, 'threads', 1, 256, Math.max(1, cpus().length));
  if (o.strategy !== undefined && !(STRATEGIES as readonly string[]).includes(o.strategy))
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `--strategy must be one of ${STRATEGIES.join(', ')}, got ${o.strategy}`,
      { param: 'strategy' },
    );
  const fields = o.fields !== undefined ? parseFields(o.fields, 'fields') : undefined;
  await loadConfig(o.config); // fail fast, with every config problem, before any work
  if (o.embedder !== undefined) parseEmbedderSpec(o.embedder);
  const input = await openInput(o.in);
  const out: Writable = !o.out || o.out === '-' ? process.stdout : createWriteStream(o.out);
  const { backend } = await selectBackend();
  const pool = new Piscina({
    filename: new URL('./route-worker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
  });
  const total = o.in === '-' ? 0 : statSync(o.in).size;
  const bar =
    process.stderr.isTTY && total > 0
      ? new cliProgress.SingleBar(
          { format: 'routing [{bar}] {percentage}% | {routed} prompts | {rate} prompts/s', stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(total, 0, { routed: 0, rate: 0 });
  const t0 = performance.now();
  let routed = 0;
  let malformed = 0;
  let bytes = 0;
  const pending: Array<{
    items: Array<Item & { lineNo: number }>;
    result: Promise<{ lines: string; errors: RouteError[] }>;
  }> = [];
  let unroutable = 0;
  let failure: ArbiterError | undefined;
  const maxInFlight = threads * 2;
  const submit = (items: Array<Item & { lineNo: number }>) => {
    const task: RouteTask = {
      config: o.config,
      backend: backend.name,
      ...(o.embedder ? { embedder: o.embedder } : {}),
      ...(o.model ? { model: o.model } : {}),
      prompts: items.map((i) => i.prompt),
      ids: items.map((i) => i.id),
      ...(o.strategy ? { options: { strategy: o.strategy as Strategy } } : {}),
      ...(fields ? { fields } : {}),
    };
    pending.push({ items, result: pool.run(task) as Promise<{ lines: string; errors: RouteError[] }> });
  };
  const drainOne = async () => {
    const head = pending.shift()!;
    const { lines, errors } = await head.result;
    await write(out, lines);
    for (const e of errors) {
      unroutable++;
      const what = `line ${head.items[e.index]!.lineNo}: cannot route: ${e.code} ${e.message}`;
      if (o.strict) failure ??= new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${what} (--strict)`, { param: 'in' });
      else process.stderr.write(`arbiter route: skipped ${what}\n`);
    }
    routed += head.items.length - errors.length;
    bar?.update(bytes, { routed, rate: Math.round((routed * 1000) / (performance.now() - t0)) });
  };
  try {
    const lines = createInterface({ input, crlfDelay: Infinity });
    let lineNo = 0;
    let items: Array<Item & { lineNo: number }> = [];
    for await (const line of lines) {
      lineNo++;
      bytes += Buffer.byteLength(line) + 1;
      if (line.trim() === '') continue;
      const parsed = parseLine(line, lineNo);
      if ('error' in parsed) {
        malformed++;
        if (o.strict) {
          failure = new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${parsed.error} (--strict)`, { param: 'in' });
          break;
        }
        process.stderr.write(`arbiter route: skipped ${parsed.error}\n`);
        continue;
      }
      items.push({ ...parsed, lineNo });
      if (items.length >= batch) {
        submit(items);
        items = [];
        while (pending.length >= maxInFlight) await drainOne(); // backpressure: constant memory
        if (failure) break;
      }
    }
    if (!failure && items.length) submit(items);
    while (pending.length) await drainOne();
  } finally {
    bar?.stop();
    // never destroy the pool with tasks running (a worker terminated mid-call loses its batch)
    await Promise.allSettled(pending.map((p) => p.result));
    await pool.destroy();
    if (out !== process.stdout) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(r));
  }
  const secs = (performance.now() - t0) / 1000;
  process.stderr.write(
    `arbiter route: routed ${routed} prompts in ${secs.toFixed(2)} s (${Math.round(routed / secs)} prompts/s, ${threads} threads, ${backend.name} backend)${malformed ? `; ${malformed} malformed line${malformed > 1 ? 's' : ''} skipped` : ''}${unroutable ? `; ${unroutable} prompt${unroutable > 1 ? 's' : ''} could not be routed` : ''}\n`,
  );
  if (failure) throw failure;
}
