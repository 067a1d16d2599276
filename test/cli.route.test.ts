// `arbiter route` as a user runs it: real processes, real files, the example config.
import { execFile, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import fc from 'fast-check';
import { transferableSymbol, valueSymbol } from 'piscina';
import { describe, expect, it } from 'vitest';

import { batchLines, LineBatcher, MAX_LINE_BYTES, type LineBatch } from '../src/cli/line-batches.js';
import {
  defaultWorkers,
  LOADED_PER_FILE_BYTE,
  routerModelBytes,
  WORKER_BASE_BYTES,
  workersFor,
} from '../src/cli/route-workers.js';
import { parseLine } from '../src/cli/route-worker.js';
import { LineWriter } from '../src/cli/line-writer.js';
import type { RouteResult } from '../src/cli/route-protocol.js';
import { ErrorCodes } from '../src/index.js';
import type { BackendName } from '../src/compute/index.js';
import { availableBackends } from './helpers.js';

const run = promisify(execFile);
const bin = new URL('../bin/arbiter.js', import.meta.url).pathname;
const config = new URL('../config/example.yaml', import.meta.url).pathname;

async function files(lines: string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'arbiter-route-'));
  const input = join(dir, 'in.jsonl');
  await writeFile(input, `${lines.join('\n')}\n`);
  return { input, output: join(dir, 'out.jsonl') };
}

describe('arbiter route', () => {
  it('routes every line in order, keeping ids (or line numbers), in small batches across threads', async () => {
    const lines = Array.from({ length: 203 }, (_, i) =>
      JSON.stringify(
        i % 3 === 0
          ? { prompt: `Write a python function number ${i}.` }
          : { id: `q${i}`, prompt: `Solve ${i} + 2 = x.` },
      ),
    );
    const { input, output } = await files(lines);
    const { stderr } = await run(process.execPath, [
      bin,
      'route',
      '--in',
      input,
      '--out',
      output,
      '--config',
      config,
      '--batch',
      '16',
      '--threads',
      '2',
    ]);
    const out = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: unknown; model: string; reason: string });
    expect(out.map((d) => d.id)).toEqual(lines.map((l, i) => (JSON.parse(l) as { id?: string }).id ?? i + 1));
    expect(
      out.every((d) => ['small-fast', 'mid-coder', 'large-reasoner'].includes(d.model) && d.reason.length > 0),
    ).toBe(true);
    expect(stderr).toMatch(/routed 203 prompts in [\d.]+ s \(\d+ prompts\/s, 2 threads, \w+ backend\)/);
  });

  it('reports malformed lines with their numbers and continues; --strict stops at the first', async () => {
    const { input, output } = await files([
      JSON.stringify({ prompt: 'hello' }),
      '{oops',
      '[1,2]',
      JSON.stringify({ prompt: 3 }),
      JSON.stringify({ id: {}, prompt: 'x' }),
      '',
      JSON.stringify({ prompt: 'bye' }),
    ]);
    const { stderr } = await run(process.execPath, [bin, 'route', '--in', input, '--out', output, '--config', config]);
    expect(stderr).toContain('skipped line 2: not JSON');
    expect(stderr).toContain('skipped line 3: must be a JSON object');
    expect(stderr).toContain('skipped line 4: "prompt" must be a string');
    expect(stderr).toContain('skipped line 5: "id" must be a string or a number');
    expect(stderr).toContain('4 malformed lines skipped');
    expect(
      (await readFile(output, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: number }).id),
    ).toEqual([1, 7]);
    const strict = await run(process.execPath, [
      bin,
      'route',
      '--in',
      input,
      '--out',
      output,
      '--config',
      config,
      '--strict',
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((strict as { code: number }).code).toBe(1);
    expect((strict as { stderr: string }).stderr).toContain('arbiter: ARB_INVALID_ARGUMENT: line 2: not JSON');
  });

  it('reads stdin and writes stdout', async () => {
    const child = spawn(process.execPath, [bin, 'route', '--in', '-', '--config', config, '--threads', '1']);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdin.end(`${JSON.stringify({ id: 'a', prompt: 'Write a haiku about rain.' })}\n`);
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect((JSON.parse(stdout.trim()) as { id: string }).id).toBe('a');
  });

  it('--fields writes only the named decision fields', async () => {
    const child = spawn(process.execPath, [
      bin,
      'route',
      '--in',
      '-',
      '--config',
      config,
      '--threads',
      '1',
      '--fields',
      'model,confidence',
    ]);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdin.end(`${JSON.stringify({ id: 'a', prompt: 'Write a haiku about rain.' })}\n`);
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    const line = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual(['id', 'model', 'confidence']);
    expect(typeof line.model).toBe('string');
  });

  it('fails with a one-line reason for a bad config, a missing input or bad flags', async () => {
    const { input } = await files([JSON.stringify({ prompt: 'x' })]);
    for (const args of [
      ['--in', input, '--config', '/nonexistent.yaml'],
      ['--in', '/nonexistent.jsonl', '--config', config],
      ['--in', input, '--config', config, '--batch', '0'],
      ['--in', input, '--config', config, '--strategy', 'fastest'],
      ['--in', input, '--config', config, '--fields', 'model,colour'],
    ]) {
      const e = (await run(process.execPath, [bin, 'route', ...args]).catch((x: unknown) => x)) as {
        code: number;
        stderr: string;
      };
      expect(e.code, args.join(' ')).toBe(1);
      expect(e.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(e.stderr).toMatch(/^arbiter: ARB_/);
    }
  });

  it('reports every problem of an invalid config on one line', async () => {
    const { input } = await files([JSON.stringify({ prompt: 'x' })]);
    const bad = join(input, '..', 'bad.yaml');
    await writeFile(
      bad,
      'models:\n  - id: a\n    provider: { kind: openai }\n    cost: { inputPer1k: -1, outputPer1k: 0 }\n',
    );
    const e = (await run(process.execPath, [bin, 'route', '--in', input, '--config', bad]).catch(
      (x: unknown) => x,
    )) as { code: number; stderr: string };
    expect(e.code).toBe(1);
    expect(e.stderr).toBe(
      `arbiter: ARB_INVALID_CONFIG: ${bad}: invalid config: models[0].cost.inputPer1k: must be >= 0 (got -1); models[0].provider.baseUrl: is required\n`,
    );
  });

  it('starts a worker per three cores, at least one, and no more than half the free memory holds', async () => {
    expect([1, 2, 3, 4, 8, 16, 64].map((c) => defaultWorkers(c))).toEqual([1, 1, 1, 2, 3, 6, 22]);
    const GB = 2 ** 30;
    // a 1,000,000-point model folder (1.7 GB) on 64 cores: 16 GB free holds 2 of them (2 x 1.7 GB + 128 MB each), 64 GB 9
    const big = 1.7 * GB;
    const each = big * LOADED_PER_FILE_BYTE + WORKER_BASE_BYTES;
    expect(defaultWorkers(64, { freeBytes: 16 * GB, routerBytes: big })).toBe(Math.floor((8 * GB) / each));
    expect(Math.floor((8 * GB) / each)).toBe(2);
    expect(defaultWorkers(64, { freeBytes: 64 * GB, routerBytes: big })).toBe(9);
    expect(defaultWorkers(64, { freeBytes: 1024 * GB, routerBytes: big })).toBe(22); // the cores' number
    expect(defaultWorkers(64, { freeBytes: 1 * GB, routerBytes: big })).toBe(1); // never none
    expect(defaultWorkers(8, { freeBytes: 0, routerBytes: 0 })).toBe(1);
    // the bytes are the model folder's files: the config's routing.model (from the config's folder) or --model
    const files = readdirSync('models/router').map((f) => statSync(join('models/router', f)).size);
    const total = files.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(10 * 2 ** 20);
    expect(await routerModelBytes({ config: 'config/example.yaml' })).toBe(total);
    expect(await routerModelBytes({ config: 'config/example.yaml', model: 'models/router' })).toBe(total);
    // no model, or one that cannot be read (the workers say what is wrong with it): nothing to hold
    expect(await routerModelBytes({ config: 'config/example.yaml', model: 'no/such/folder' })).toBe(0);
    expect(await routerModelBytes({ config: 'no-such-config.yaml' })).toBe(0);
    // the command's default: the cores' number unless the memory holds fewer, said on stderr
    const said: string[] = [];
    const warn = (l: string) => said.push(l);
    const spec = { config: 'config/example.yaml' };
    expect(await workersFor(spec, { cores: 64, freeBytes: () => 1024 * GB }, warn)).toBe(22);
    expect(said).toEqual([]);
    const mb = Math.round(total / 2 ** 20);
    expect(await workersFor(spec, { cores: 64, freeBytes: () => 0.5 * GB }, warn)).toBe(1);
    expect(await workersFor(spec, { cores: 64, freeBytes: () => 2 * GB }, warn)).toBe(
      Math.floor(GB / (total * LOADED_PER_FILE_BYTE + WORKER_BASE_BYTES)),
    );
    expect(said[0]).toBe(
      `arbiter route: 1 route worker, not 22: each loads its own copy of the router model (${mb} MB of files) and 512 MB of memory is free (--threads sets the number)\n`,
    );
    expect(said).toHaveLength(2);
    // one worker by the cores: started at once, no config read (a missing one is reported later)
    expect(await workersFor({ config: 'no-such-config.yaml' }, { cores: 2, freeBytes: () => 0 }, warn)).toBe(1);
    expect(said).toHaveLength(2);
  });

  it('parses lines strictly', () => {
    expect(parseLine('{"prompt":"p","id":7}', 1)).toEqual({ id: 7, prompt: 'p' });
    expect(parseLine('{"prompt":"p"}', 9)).toEqual({ id: 9, prompt: 'p' });
    expect(parseLine('null', 2)).toEqual({ error: 'line 2: must be a JSON object' });
  });
});

describe('input batches (line-batches.ts)', () => {
  // a reference: the input decoded whole and split on '\n', numbered from 1, blank lines dropped
  const reference = (text: string) =>
    text
      .split('\n')
      .map((l, i) => ({ line: l.endsWith('\r') ? l.slice(0, -1) : l, lineNo: i + 1 }))
      .filter((x) => x.line.trim() !== '');
  const line = fc.oneof(
    fc.constant(''),
    fc.constant(' \t\r'),
    fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => JSON.stringify({ prompt: s })),
    fc.string({ unit: 'binary', maxLength: 8 }).map((s) => s.replace(/\n/g, ' ')),
  );

  it('cuts any input, read in any pieces, into whole lines with their numbers', () => {
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 40 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 8 }),
        (lines, crlf, size, cuts) => {
          const text = lines.join(crlf ? '\r\n' : '\n');
          const bytes = new TextEncoder().encode(text);
          const b = new LineBatcher(size);
          const batches: LineBatch[] = [];
          for (let o = 0, i = 0; o < bytes.length; i++) {
            const n = cuts[i % cuts.length]!;
            batches.push(...b.push(bytes.subarray(o, o + n)));
            o += n;
          }
          const last = b.end();
          if (last) batches.push(last);
          // the bytes, in order, each batch owning its buffer
          expect(Buffer.concat(batches.map((x) => x.bytes))).toEqual(Buffer.from(bytes));
          expect(batches.every((x) => x.bytes.byteOffset === 0 && x.bytes.buffer.byteLength === x.bytes.length)).toBe(
            true,
          );
          // numbered consecutively; every batch but the last full
          let next = 1;
          for (const x of batches) {
            expect(x.firstLine).toBe(next);
            next += x.lines;
          }
          const read = batches.map((x) => batchLines(x));
          // full unless a line of non-ASCII white space counted (it reads as blank)
          const exotic = text.split('\n').some((l) => l.trim() === '' && /[^ \t\r\v\f]/.test(l));
          for (const ls of read.slice(0, -1))
            if (exotic) expect(ls.length).toBeLessThanOrEqual(size);
            else expect(ls.length).toBe(size);
          expect(read.flat()).toEqual(reference(new TextDecoder().decode(bytes)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodes each line as the whole batch would decode: invalid bytes, CR, and a byte-order mark only on line 1', () => {
    // random bytes, newlines and carriage returns common, sometimes a byte-order mark in front
    const bytes = fc
      .tuple(
        fc.boolean(),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x0a, 0x0d, 0xef, 0xbb, 0xbf)), {
          maxLength: 200,
        }),
      )
      .map(([bom, xs]) => Uint8Array.from(bom ? [0xef, 0xbb, 0xbf, ...xs] : xs));
    fc.assert(
      fc.property(bytes, fc.integer({ min: 1, max: 3 }), (b, firstLine) => {
        const whole = new TextDecoder('utf-8', { ignoreBOM: firstLine !== 1 }).decode(b);
        const want = reference(whole).map((x) => ({ ...x, lineNo: x.lineNo + firstLine - 1 }));
        expect(batchLines({ bytes: b, firstLine })).toEqual(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a line over the bound, naming it', () => {
    const b = new LineBatcher(4);
    expect(b.push(new TextEncoder().encode('{"prompt":"a"}\n\n'))).toEqual([]);
    const big = new Uint8Array(MAX_LINE_BYTES >> 2).fill(0x61);
    for (let i = 0; i < 4; i++) b.push(big); // 64 MiB: at the bound, still accepted
    expect(() => b.push(big.subarray(0, 64))).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, message: 'line 3: longer than 64 MiB' }),
    );
  });
});

describe('output lines (line-writer.ts)', () => {
  it('writes what JSON.stringify({ id, ...o }) writes, in UTF-8, line after line', () => {
    const w = new LineWriter();
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer(), fc.double({ noNaN: true })),
            fc.dictionary(
              // not integer-like: those go first in any object (no decision field is one)
              fc
                .string({ unit: 'grapheme' })
                .filter((k) => k !== 'id' && k !== '__proto__' && !/^(0|[1-9]\d*)$/.test(k)),
              fc.jsonValue(),
            ),
          ),
          { maxLength: 30 },
        ),
        (lines) => {
          for (const [id, o] of lines) w.objectWithId(id, JSON.stringify(o));
          const want = lines.map(([id, o]) => `${JSON.stringify({ id, ...o })}\n`).join('');
          expect(Buffer.from(w.take()).toString('utf8')).toBe(want);
        },
      ),
      { numRuns: 300 },
    );
    // past the first buffer: a line far longer than it
    const big = { prompt: 'ü€😀'.repeat(40_000) };
    w.objectWithId(7, JSON.stringify(big));
    expect(Buffer.from(w.take()).toString('utf8')).toBe(`${JSON.stringify({ id: 7, ...big })}\n`);
    // each take hands its buffer over; the next is sized by what was just written, so one big
    // batch does not make every later buffer as big
    w.objectWithId(8, '{}');
    expect(Buffer.from(w.take()).toString('utf8')).toBe('{"id":8}\n');
    w.objectWithId(9, '{}');
    const small = w.take();
    expect(Buffer.from(small).toString('utf8')).toBe('{"id":9}\n');
    expect(small.buffer.byteLength).toBe(1 << 16);
  });
});

describe('a route worker (route-worker.ts, called in this thread)', () => {
  it('routes a batch of raw lines, and rebuilds its router when a task names another backend', async () => {
    const { routeBatch } = await import('../src/cli/route-worker.js');
    const bytes = new TextEncoder().encode(
      `${JSON.stringify({ id: 'a', prompt: 'Write a python function that reverses a list.' })}\n{oops\n\n${JSON.stringify({ prompt: 'What is 17 * 23?' })}`,
    );
    const lines = (out: Uint8Array) =>
      new TextDecoder()
        .decode(out)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string | number; model: string });
    const native = availableBackends().some((b) => b.name === 'cpu');
    const backends: BackendName[] = native ? ['js', 'cpu', 'js'] : ['js'];
    const models: string[][] = [];
    for (const backend of backends) {
      const r = await routeBatch({ config, backend, bytes: bytes.slice(), firstLine: 10 });
      expect(r.malformed).toEqual([{ lineNo: 11, code: 'malformed', message: expect.stringMatching(/^not JSON/) }]);
      expect(r.routed).toBe(2);
      const out = lines(r.out);
      expect(out.map((d) => d.id)).toEqual(['a', 13]); // the line number when no id
      models.push(out.map((d) => d.model));
    }
    // the same decisions whichever backend answered
    for (const m of models) expect(m).toEqual(models[0]);
  });

  it('hands the pool its result with the output bytes to move, not copy', async () => {
    const { default: routeTask } = await import('../src/cli/route-worker.js');
    const bytes = new TextEncoder().encode(`${JSON.stringify({ id: 1, prompt: 'What is 17 * 23?' })}\n`);
    const task = await routeTask({ config, backend: availableBackends()[0]!.name, bytes, firstLine: 1 });
    const r = (task as unknown as Record<symbol, RouteResult>)[valueSymbol]!;
    expect(r.routed).toBe(1);
    expect((task as unknown as Record<symbol, unknown>)[transferableSymbol]).toBe(r.out.buffer);
    // its own memory: moving it takes nothing from the next batch's output
    expect(r.out.byteOffset).toBe(0);
    const next = await routeTask({ config, backend: availableBackends()[0]!.name, bytes, firstLine: 1 });
    expect((next as unknown as Record<symbol, RouteResult>)[valueSymbol]!.out.buffer).not.toBe(r.out.buffer);
    expect(JSON.parse(new TextDecoder().decode(r.out))).toMatchObject({ id: 1 });
  });
});
