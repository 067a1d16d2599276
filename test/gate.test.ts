// The per-model gate with a fake clock and sleep: breaker transitions, retry policy and Retry-After,
// the concurrency cap and its bounded queue.
import { describe, expect, it } from 'vitest';

import { ArbiterError, ErrorCodes, ModelGate, retryAfterMs } from '../src/index.js';

function fake() {
  let t = 0;
  const slept: number[] = [];
  return { now: () => t, advance: (ms: number) => (t += ms), slept, sleep: async (ms: number) => void slept.push(ms), random: () => 0.5 };
}
const e500 = () => new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'boom', { status: 500 });

describe('ModelGate', () => {
  it('opens after the failure threshold within the window, fails fast, then half-opens for one probe', async () => {
    const f = fake();
    const g = new ModelGate('m', { maxConcurrent: 4, retries: 0, failureThreshold: 3, windowMs: 1000, cooldownMs: 5000, ...f });
    const states: string[] = [];
    g.onStateChange = (s) => states.push(s);
    for (let i = 0; i < 3; i++) await expect(g.run(async () => Promise.reject(e500()))).rejects.toMatchObject({ code: 'ARB_UPSTREAM_ERROR' });
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
    for (let i = 0; i < 5; i++) await expect(g.run(async () => Promise.reject(new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'bad request', { status: 400 })))).rejects.toBeDefined();
    expect(g.breaker()).toBe('closed');
    // a client that goes away (499) is not the model's fault either (a soak test found this opening breakers)
    for (let i = 0; i < 5; i++) await expect(g.run(async () => Promise.reject(new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'cancelled', { status: 499 })))).rejects.toBeDefined();
    expect(g.breaker()).toBe('closed');
  });

  it('retries retryable failures with backoff, waits Retry-After, and gives a long Retry-After back at once', async () => {
    const f = fake();
    const g = new ModelGate('m', { maxConcurrent: 4, retries: 2, backoffBaseMs: 100, maxRetryAfterMs: 2000, failureThreshold: 100, ...f });
    let n = 0;
    expect(await g.run(async () => (++n < 3 ? Promise.reject(e500()) : 'third'))).toBe('third');
    expect(f.slept).toEqual([50, 100]); // full jitter at 0.5 of 100, 200
    f.slept.length = 0;
    n = 0;
    const limited = (ms: number) => new ArbiterError(ErrorCodes.RATE_LIMITED, '429', { status: 429, retryAfterMs: ms });
    expect(await g.run(async () => (++n < 2 ? Promise.reject(limited(1000)) : 'ok'))).toBe('ok');
    expect(f.slept).toEqual([1000]);
    n = 0;
    await expect(g.run(async () => (++n, Promise.reject(limited(60_000))))).rejects.toMatchObject({ code: 'ARB_RATE_LIMITED' });
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

  it('parses Retry-After seconds and dates', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
