/**
 * Load generation off the measured process's event loop (a worker thread: its own loop, its own
 * OS thread). Two modes, chosen by workerData.mode:
 *   - 'autocannon': closed-loop throughput (autocannon's result is posted back);
 *   - 'rate': open-loop at a fixed rate over keep-alive connections, each request's latency timed
 *     with performance.now() (sub-millisecond, unlike autocannon's whole milliseconds); posts
 *     {sent, answered, errors, byStatus, latencies percentiles}.
 * Also 'upstream': an OpenAI-compatible server that answers at once (posts its port).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

import autocannon from 'autocannon';

import { threadCpuMs } from './thread-cpu.js';

interface RateJob {
  mode: 'rate';
  url: string;
  body: string;
  rate: number;
  seconds: number;
  connections: number;
}

const d = workerData as { mode: 'autocannon'; options: autocannon.Options } | RateJob | { mode: 'upstream' };

if (d.mode === 'upstream') {
  const completion = JSON.stringify({
    id: 'x',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      res
        .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(completion) })
        .end(completion),
    );
  });
  server.listen(0, '127.0.0.1', () => parentPort!.postMessage((server.address() as AddressInfo).port));
} else if (d.mode === 'autocannon') {
  // inside a worker autocannon returns its raw histograms: aggregate them here
  const opts = { ...d.options, headers: { 'content-type': 'application/json' } };
  const raw = await autocannon(opts);
  const aggregate = (autocannon as unknown as { aggregateResult: (rs: unknown[], o: unknown) => autocannon.Result })
    .aggregateResult;
  const r = 'latency' in raw ? raw : aggregate([raw], opts);
  // this thread's CPU time, its start included: the caller subtracts it from the process's
  parentPort!.postMessage({ ...JSON.parse(JSON.stringify(r)), loadCpuMs: threadCpuMs() });
} else {
  const agent = new http.Agent({ keepAlive: true, maxSockets: d.connections });
  const url = new URL(d.url);
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  let sent = 0;
  let answered = 0;
  let errors = 0;
  /** Client-side errors by code (ECONNRESET, …): which side gave up. */
  const errorCodes: Record<string, number> = {};
  const one = () => {
    const t0 = performance.now();
    sent++;
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(d.body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - t0);
          answered++;
          byStatus[res.statusCode ?? 0] = (byStatus[res.statusCode ?? 0] ?? 0) + 1;
        });
      },
    );
    req.on('socket', (s) => s.setNoDelay(true));
    req.on('error', (e: NodeJS.ErrnoException) => {
      errors++;
      errorCodes[e.code ?? e.message] = (errorCodes[e.code ?? e.message] ?? 0) + 1;
    });
    req.end(d.body);
  };
  // open loop: requests due by now are sent, whatever the responses are doing
  const start = performance.now();
  const total = Math.round(d.rate * d.seconds);
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * d.rate));
      while (sent < due) one();
      if (sent >= total) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  const deadline = performance.now() + 10_000;
  while (answered + errors < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  parentPort!.postMessage({
    sent,
    answered,
    errors,
    errorCodes,
    byStatus,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: latencies.at(-1) ?? NaN,
    seconds: (performance.now() - start) / 1000,
  });
}
