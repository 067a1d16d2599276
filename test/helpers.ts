import { randomInt } from 'node:crypto';

import { expect } from 'vitest';
import {
  BACKEND_NAMES,
  type BackendName,
  type ComputeBackend,
  createBackend,
  type SearchResult,
} from '../src/compute/index.js';
import { seededRandom } from '../src/stats/index.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** mulberry32 (the project's seeded PRNG), so a failing run can be replayed with ARBITER_SEED. */
export const rng = seededRandom;

export const SEED = process.env.ARBITER_SEED ? Number(process.env.ARBITER_SEED) : randomInt(2 ** 31);

export class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  uniform(): number {
    return this.next();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }
  /** Standard normal values (never all zero). */
  normal(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = 1 - this.next();
      out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
    }
    return out;
  }
}

/** Backends that load on this machine (js always; cpu when the addon built; gpujs when installed; cuda with a GPU). */
export function availableBackends(): ComputeBackend[] {
  const out: ComputeBackend[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      out.push(createBackend(name as BackendName));
    } catch {
      /* unavailable here: covered by the selection tests */
    }
  }
  return out;
}

/**
 * Compares a search result with a reference searched with at least as many columns (search the
 * reference with k + 1 so a swap at the last position can be judged): position by position,
 * scores within tol (relative to 1 + |score|), and ids equal unless the reference has a near-tie
 * at that position.
 */
export function expectSameSearch(got: SearchResult, want: SearchResult, tol: number, what: string): void {
  const k = got.k;
  expect(k, `${what}: k`).toBe(Math.min(want.k, k));
  expect(got.n, `${what}: n`).toBe(want.n);
  expect(got.ids.length, `${what}: ids length`).toBe(got.n * k);
  for (let q = 0; q < want.n; q++) {
    for (let j = 0; j < k; j++) {
      const i = q * want.k + j;
      const ws = want.scores[i]!;
      const gs = got.scores[q * k + j]!;
      const gi = got.ids[q * k + j];
      expect(Math.abs(gs - ws), `${what}: score q=${q} j=${j} (${gs} vs ${ws}), seed ${SEED}`).toBeLessThanOrEqual(
        tol * (1 + Math.abs(ws)),
      );
      if (gi !== want.ids[i]) {
        const prev = j > 0 ? want.scores[i - 1]! : Infinity;
        const next = j + 1 < want.k ? want.scores[i + 1]! : -Infinity;
        const nearTie = Math.min(Math.abs(prev - ws), Math.abs(next - ws)) <= 2 * tol * (1 + Math.abs(ws));
        expect(
          nearTie,
          `${what}: id at q=${q} j=${j} differs (${gi} vs ${want.ids[i]}) without a near-tie, seed ${SEED}`,
        ).toBe(true);
      }
    }
  }
}

/**
 * An HTTP server on 127.0.0.1 for the tests to call as an upstream: `handle(model, body, req, res)`
 * answers each request (its JSON body parsed). Returns its /v1 base URL and a close function.
 */
export async function startUpstream(
  handle: (
    body: { model: string; stream?: boolean } & Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
  ) => void,
): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => handle(JSON.parse(raw) as { model: string }, req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Answers an upstream call with a JSON chat completion: `content` from `model`, with its usage. */
export function sendCompletion(
  res: ServerResponse,
  model: string,
  content: string,
  usage: { prompt_tokens: number; completion_tokens: number } = { prompt_tokens: 5, completion_tokens: 5 },
): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    }),
  );
}
