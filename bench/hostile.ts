/**
 * Reliability under attack: a normal load (300 requests/s of /v1/chat/completions through the
 * gateway to a prompt upstream) alone, then while the same gateway is hit by 1,000 slow
 * connections dripping request bodies, 20 streams held open by an upstream that stalls after its
 * first token, and 4 connections asking (every 250 ms) a model whose upstream sends 50 MB bodies. Every attacker,
 * load generator and upstream runs in its own worker thread, so the main thread's event loop is
 * the gateway's. Reports the normal load's p99 with and without the attack (goal: within 2×),
 * /health's max latency under attack (goal ≤ 100 ms), the gateway's RSS peak and open file
 * descriptors, and requests lost (sent − answered; goal 0).
 *   npm run bench -- hostile        (BENCH_HOSTILE_S: seconds per phase, default 15)
 */
import { readdirSync } from 'node:fs';

import { selectBackend } from '../src/compute/index.js';
import { Arbiter } from '../src/engine/index.js';
import { createRouter, validateConfig } from '../src/index.js';
import { createUpstreams } from '../src/providers/index.js';
import { buildGateway } from '../src/server/index.js';
import { inWorker as startWorker } from './lib/workers.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

const seconds = Number(process.env.BENCH_HOSTILE_S ?? 15);
const RATE = 300;
const worker = <T>(file: string, data: { mode: string } & Record<string, unknown>) =>
  startWorker<T>(new URL(file, import.meta.url), data);
const load = <T>(data: { mode: string } & Record<string, unknown>) => worker<T>('./lib/load-worker.js', data);
const attack = <T>(data: { mode: string } & Record<string, unknown>) => worker<T>('./lib/hostile-worker.js', data);

interface RateResult {
  sent: number;
  answered: number;
  errors: number;
  byStatus: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  seconds: number;
}
interface Probe {
  n: number;
  failed: number;
  max: number;
  p99: number;
}

const okPort = await load<number>({ mode: 'upstream' });
const badPort = await attack<number>({ mode: 'upstream' });
const { backend } = await selectBackend();
const model = (id: string, port: number) => ({
  id,
  provider: { kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, retries: 0 },
  cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
  maxConcurrent: 512,
});
const cfg = validateConfig({ models: [model('ok', okPort), model('stall', badPort), model('huge', badPort)] }, 'bench');
const gw = await buildGateway({
  arbiter: new Arbiter({ router: await createRouter(cfg, { backend }), upstreams: await createUpstreams(cfg) }),
  backend: backend.name,
});
const url = await gw.listen({ host: '127.0.0.1', port: 0 });
const port = Number(new URL(url).port);

let rssPeak = 0;
let fdPeak = 0;
const sampler = setInterval(() => {
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  fdPeak = Math.max(fdPeak, readdirSync('/proc/self/fd').length);
}, 100);

const chat = (m: string, stream = false) =>
  JSON.stringify({
    model: m,
    stream,
    messages: [{ role: 'user', content: 'Summarise the plot of Hamlet in two sentences.' }],
  });
const normal = () =>
  load<RateResult>({
    mode: 'rate',
    url: `${url}/v1/chat/completions`,
    body: chat('ok'),
    rate: RATE,
    seconds,
    connections: 32,
  });
const probe = () => attack<Probe>({ mode: 'probe', url: `${url}/health`, everyMs: 20, seconds });

// warm-up, then the quiet phase
await load<RateResult>({
  mode: 'rate',
  url: `${url}/v1/chat/completions`,
  body: chat('ok'),
  rate: RATE,
  seconds: 3,
  connections: 32,
});
const [quiet, quietProbe] = await Promise.all([normal(), probe()]);
const quietRss = rssPeak;

// the attack phase: attackers start first and run a little longer than the measured load
const attackers = Promise.all([
  attack<{ opened: number; refused: number; closedByServer: number }>({
    mode: 'slow',
    port,
    connections: 1000,
    seconds: seconds + 4,
  }),
  attack<{ byOutcome: Record<string, number> }>({
    mode: 'requests',
    url: `${url}/v1/chat/completions`,
    body: chat('stall', true),
    concurrency: 20,
    seconds: seconds + 2,
  }),
  attack<{ byOutcome: Record<string, number> }>({
    mode: 'requests',
    url: `${url}/v1/chat/completions`,
    body: chat('huge'),
    concurrency: 4,
    seconds: seconds + 2,
    pauseMs: 250,
  }),
]);
await new Promise((r) => setTimeout(r, 1500));
const [loud, loudProbe] = await Promise.all([normal(), probe()]);
const [slow, stall, huge] = await attackers;
clearInterval(sampler);

const lost = (r: RateResult) => r.sent - r.answered;
const non2xx = (r: RateResult) =>
  Object.entries(r.byStatus)
    .filter(([k]) => !k.startsWith('2'))
    .reduce((a, [, v]) => a + v, 0);
const rows: ResultRow[] = [
  {
    name: 'normal load, quiet',
    kind: 'backend',
    Q: quiet.answered,
    medianMs: quiet.p50,
    qps: quiet.answered / quiet.seconds,
    note: `p99 ${quiet.p99.toFixed(2)} ms, lost ${lost(quiet)}, non-2xx ${non2xx(quiet)}`,
  },
  {
    name: 'normal load, under attack',
    kind: 'backend',
    Q: loud.answered,
    medianMs: loud.p50,
    qps: loud.answered / loud.seconds,
    note: `p99 ${loud.p99.toFixed(2)} ms (${(loud.p99 / quiet.p99).toFixed(2)}× quiet), lost ${lost(loud)}, non-2xx ${non2xx(loud)}`,
  },
  {
    name: '/health, quiet',
    kind: 'backend',
    Q: quietProbe.n,
    medianMs: quietProbe.p99,
    qps: quietProbe.n / seconds,
    note: `max ${quietProbe.max.toFixed(2)} ms, failed ${quietProbe.failed}`,
  },
  {
    name: '/health, under attack',
    kind: 'backend',
    Q: loudProbe.n,
    medianMs: loudProbe.p99,
    qps: loudProbe.n / seconds,
    note: `max ${loudProbe.max.toFixed(2)} ms, failed ${loudProbe.failed}`,
  },
];
printTable(
  `gateway under attack (${seconds} s phases, ${RATE} req/s normal load; /health rows: "median ms" is p99)`,
  rows,
  'requests/s',
);
const summary = {
  p99QuietMs: quiet.p99,
  p99AttackMs: loud.p99,
  p99Ratio: loud.p99 / quiet.p99,
  healthMaxQuietMs: quietProbe.max,
  healthMaxAttackMs: loudProbe.max,
  rssQuietMB: quietRss / 2 ** 20,
  rssPeakMB: rssPeak / 2 ** 20,
  openFdsPeak: fdPeak,
  lostQuiet: lost(quiet),
  lostAttack: lost(loud),
  slow,
  stalledStreams: stall.byOutcome,
  hugeBodies: huge.byOutcome,
};
process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
process.stdout.write(
  `wrote ${writeResults('hostile', { shape: { seconds, rate: RATE, slowConnections: 1000, stalledStreams: 20, hugeBodies: 4 }, results: rows, summary })}\n`,
);
await gw.close();
process.exit(0);
