// The per-model gate with a fake clock and sleep: breaker transitions, retry policy and Retry-After,
// the concurrency cap and its bounded queue.
import { describe, expect, it } from 'vitest';

import { spawn } from 'node:child_process';
import net from 'node:net';

import { ArbiterError, ErrorCodes } from '../src/index.js';
import { ModelGate, OpenAIProvider, retryAfterMs } from '../src/providers/index.js';

function fake() {
  let t = 0;
  const slept: number[] = [];
  return {
    now: () => t,
    advance: (ms: number) => (t += ms),
    slept,
    sleep: async (ms: number) => void slept.push(ms),
    random: () => 0.5,
  };
}
const e500 = () => new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'boom', { status: 500 });

describe('ModelGate', () => {
  it('opens after the failure threshold within the window, fails fast, then half-opens for one probe', async () => {
    const f = fake();
    const g = new ModelGate('m', {
      maxConcurrent: 4,
      retries: 0,
      failureThreshold: 3,
      windowMs: 1000,
      cooldownMs: 5000,
      ...f,
    });
    const states: string[] = [];
    g.onStateChange = (s) => states.push(s);
    for (let i = 0; i < 3; i++)
      await expect(g.run(async () => Promise.reject(e500()))).rejects.toMatchObject({ code: 'ARB_UPSTREAM_ERROR' });
    expect(g.breaker()).toBe('open');
    let called = 0;
    await expect(g.run(async () => ++called)).rejects.toMatchObject({ code: 'ARB_CIRCUIT_OPEN', retryAfterMs: 5000 });
    expect(called).toBe(0);
    f.advance(5000);
    expect(g.breaker()).toBe('half-open');
    await expect(g.run(async () => Promise.reject(e500()))).rejects.toMatchObject({ code: 'ARB_UPSTREAM_ERROR' }); // the probe fails
    expect(g.breaker()).toBe('open');
    f.advance(5000);
    expect(await g.run(async () => 'ok')).toBe('ok'); // the probe succeeds
    expect(g.breaker()).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('failures outside the window do not add up; client errors never count', async () => {
    const f = fake();
    const g = new ModelGate('m', { maxConcurrent: 4, retries: 0, failureThreshold: 2, windowMs: 1000, ...f });
    await expect(g.run(async () => Promise.reject(e500()))).rejects.toBeDefined();
    f.advance(1500);
    await expect(g.run(async () => Promise.reject(e500()))).rejects.toBeDefined();
    expect(g.breaker()).toBe('closed');
    for (let i = 0; i < 5; i++)
      await expect(
        g.run(async () => Promise.reject(new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'bad request', { status: 400 }))),
      ).rejects.toBeDefined();
    expect(g.breaker()).toBe('closed');
    // a client that goes away (499) is not the model's fault either (a soak test found this opening breakers)
    for (let i = 0; i < 5; i++)
      await expect(
        g.run(async () => Promise.reject(new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'cancelled', { status: 499 }))),
      ).rejects.toBeDefined();
    expect(g.breaker()).toBe('closed');
  });

  it('retries retryable failures with backoff, waits Retry-After, and gives a long Retry-After back at once', async () => {
    const f = fake();
    const g = new ModelGate('m', {
      maxConcurrent: 4,
      retries: 2,
      backoffBaseMs: 100,
      maxRetryAfterMs: 2000,
      failureThreshold: 100,
      ...f,
    });
    let n = 0;
    expect(await g.run(async () => (++n < 3 ? Promise.reject(e500()) : 'third'))).toBe('third');
    expect(f.slept).toEqual([50, 100]); // full jitter at 0.5 of 100, 200
    f.slept.length = 0;
    n = 0;
    const limited = (ms: number) => new ArbiterError(ErrorCodes.RATE_LIMITED, '429', { status: 429, retryAfterMs: ms });
    expect(await g.run(async () => (++n < 2 ? Promise.reject(limited(1000)) : 'ok'))).toBe('ok');
    expect(f.slept).toEqual([1000]);
    n = 0;
    await expect(g.run(async () => (++n, Promise.reject(limited(60_000))))).rejects.toMatchObject({
      code: 'ARB_RATE_LIMITED',
    });
    expect(n).toBe(1);
  });

  it('caps concurrency, queues up to the limit in order, and rejects beyond it', async () => {
    const g = new ModelGate('m', { maxConcurrent: 1, maxQueue: 1, retries: 0 });
    let release!: () => void;
    const first = g.run(() => new Promise<string>((r) => (release = () => r('first'))));
    const second = g.run(async () => 'second');
    expect(g.inFlight).toBe(1);
    expect(g.queued).toBe(1);
    await expect(g.run(async () => 'third')).rejects.toMatchObject({ code: 'ARB_RATE_LIMITED' });
    release();
    expect(await first).toBe('first');
    expect(await second).toBe('second');
    expect(g.inFlight).toBe(0);
  });

  it('requests- and tokens-per-minute limits fail fast with the wait until the window frees; usage corrects the estimate', async () => {
    const f = fake();
    const g = new ModelGate('m', { maxConcurrent: 4, retries: 0, requestsPerMinute: 2, tokensPerMinute: 1000, ...f });
    expect(await g.run(async () => 'a', undefined, { estimate: 300 })).toBe('a');
    f.advance(10_000);
    // estimated 600, used 100: the window holds 300 + 100
    expect(await g.run(async () => ({ used: 100 }), undefined, { estimate: 600, usage: (o) => o.used })).toEqual({
      used: 100,
    });
    let called = 0;
    await expect(g.run(async () => ++called, undefined, { estimate: 10 })).rejects.toMatchObject({
      code: 'ARB_RATE_LIMITED',
      retryAfterMs: 50_000,
    }); // third call in the minute
    expect(g.rateLimited).toBe(true);
    f.advance(50_000); // the first call leaves the window
    expect(await g.run(async () => 'b', undefined, { estimate: 800 })).toBe('b'); // 100 + 800 <= 1000
    f.advance(11_000); // the second leaves too: one call (800 tokens) in the window
    await expect(g.run(async () => ++called, undefined, { estimate: 300 })).rejects.toMatchObject({
      code: 'ARB_RATE_LIMITED',
      retryAfterMs: 49_000,
    }); // tokens
    await expect(g.run(async () => ++called, undefined, { estimate: 5000 })).rejects.toMatchObject({
      code: 'ARB_RATE_LIMITED',
      retryAfterMs: undefined,
    }); // never fits
    expect(called).toBe(0);
    // no limits configured: nothing is tracked
    const free = new ModelGate('n', { maxConcurrent: 1, ...f });
    for (let i = 0; i < 5; i++) await free.run(async () => i, undefined, { estimate: 1e9 });
    expect(free.rateLimited).toBe(false);
  });

  it('parses Retry-After seconds and dates', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('OpenAIProvider connect timeout', () => {
  it('a connection that does not open in time is ARB_UPSTREAM_TIMEOUT, well before the response timeout', async () => {
    // a listener whose process is stopped: once its backlog is full, new connections hang in SYN_SENT
    const child = spawn(
      process.execPath,
      [
        '-e',
        "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>console.log(s.address().port))",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const fill: net.Socket[] = [];
    try {
      const port = await new Promise<number>((r) => child.stdout!.once('data', (d) => r(Number(String(d).trim()))));
      child.kill('SIGSTOP');
      for (let i = 0; i < 4; i++) fill.push(net.connect({ port, host: '127.0.0.1' }).on('error', () => {}));
      await new Promise((r) => setTimeout(r, 100));
      const p = new OpenAIProvider({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', connectTimeoutMs: 150 });
      // the connect timeout, not the 10 s response timeout, ends it
      await expect(
        p.complete({ messages: [{ role: 'user', content: 'hi' }] }, { timeoutMs: 10_000 }),
      ).rejects.toMatchObject({
        code: 'ARB_UPSTREAM_TIMEOUT',
        message: expect.stringContaining('no connection within 150 ms'),
      });
    } finally {
      fill.forEach((s) => s.destroy());
      child.kill('SIGKILL');
    }
  });
});
