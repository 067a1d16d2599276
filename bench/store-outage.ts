/**
 * PostgreSQL goes away in the middle of a load run: the gateway answers a fixed BENCH_OUTAGE_RATE
 * requests/s (default 200) for BENCH_OUTAGE_S seconds (default 90) while recording to PostgreSQL
 * through a TCP relay; from a third of the run to two thirds the relay is stopped — its listening
 * socket closed (new connections refused) and every open connection reset, which is what a client
 * sees of a stopped server. Afterwards: requests that failed (goal 0), and rows in the database
 * against requests answered once the spool has been replayed (goal: equal).
 *   npm run bench -- store-outage        (BENCH_PG: the server, default the local one)
 */
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import { selectBackend } from '../src/compute/index.js';
import { createArbiter } from '../src/index.js';
import { buildGateway } from '../src/server/index.js';
import { inWorker as startWorker } from './lib/workers.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

const SECONDS = Number(process.env.BENCH_OUTAGE_S ?? 90);
const RATE = Number(process.env.BENCH_OUTAGE_RATE ?? 200);
const PG = new URL(process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const inWorker = <T>(data: { mode: string } & Record<string, unknown>) =>
  startWorker<T>(new URL('./lib/load-worker.js', import.meta.url), data);

/** A TCP relay to PostgreSQL that can be stopped (refuse and reset) and started again on its port. */
class Relay {
  private server = net.createServer((c) => this.pipe(c));
  private readonly open = new Set<net.Socket>();
  port = 0;

  private pipe(c: net.Socket): void {
    const s = net.connect(Number(PG.port || 5432), PG.hostname);
    for (const x of [c, s]) {
      this.open.add(x);
      x.on('error', () => {});
      x.on('close', () => {
        c.destroy();
        s.destroy();
        this.open.delete(x);
      });
    }
    c.pipe(s).pipe(c);
  }

  listen(port = 0): Promise<void> {
    this.server = net.createServer((c) => this.pipe(c));
    return new Promise((ok) =>
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as net.AddressInfo).port;
        ok();
      }),
    );
  }

  stop(): void {
    this.server.close();
    for (const s of this.open) s.resetAndDestroy();
  }
}

const admin = new pg.Client({ connectionString: PG.toString(), connectionTimeoutMillis: 2000 });
await admin.connect();
const dbName = `arbiter_outage_${Date.now().toString(36)}`;
await admin.query(`create database ${dbName}`);
const relay = new Relay();
await relay.listen();
const storeUrl = new URL(PG);
storeUrl.port = String(relay.port);
storeUrl.pathname = `/${dbName}`;

const port = await inWorker<number>({ mode: 'upstream' });
const { backend } = await selectBackend();
const arbiter = await createArbiter(
  {
    models: [
      {
        id: 'm',
        provider: { kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` },
        cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
        maxConcurrent: 256,
      },
    ],
    store: {
      url: storeUrl.toString(),
      spool: join(mkdtempSync(join(tmpdir(), 'arbiter-outage-')), 'spool.jsonl'),
    },
  },
  { backend },
);
const gw = await buildGateway({ arbiter });
const url = await gw.listen({ host: '127.0.0.1', port: 0 });

// the outage, and what /health says in the middle of it
const during: { health?: unknown; spooled: number } = { spooled: 0 };
const down = setTimeout(() => relay.stop(), (SECONDS / 3) * 1000);
const look = setTimeout(
  async () => {
    during.health = ((await (await fetch(`${url}/health`)).json()) as { store?: unknown }).store;
    during.spooled = arbiter.store!.status.spooled;
  },
  (SECONDS / 2) * 1000,
);
const up = setTimeout(() => void relay.listen(relay.port), ((2 * SECONDS) / 3) * 1000);

const r = await inWorker<{
  sent: number;
  answered: number;
  errors: number;
  byStatus: Record<string, number>;
  p50: number;
  p99: number;
}>({
  mode: 'rate',
  url: `${url}/v1/chat/completions`,
  body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Name three prime numbers.' }] }),
  rate: RATE,
  seconds: SECONDS,
  connections: 32,
});
clearTimeout(down);
clearTimeout(look);
clearTimeout(up);

// after the run: the spool drains on the next successful writes
const t0 = performance.now();
for (let i = 0; i < 120; i++) {
  await arbiter.store!.flush();
  const s = arbiter.store!.status;
  if (s.status === 'ok' && s.spooled === 0 && s.queued === 0) break;
  await new Promise((ok) => setTimeout(ok, 500));
}
const drainS = (performance.now() - t0) / 1000;
const status = arbiter.store!.status;
const check = new pg.Client({ connectionString: storeUrl.toString().replace(`:${relay.port}`, `:${PG.port || 5432}`) });
await check.connect();
const stored = Number((await check.query('select count(*) as n from requests')).rows[0].n);
await check.end();

const answered = r.byStatus['200'] ?? 0;
const failed = r.sent - answered;
const rows: ResultRow[] = [
  {
    name: `${SECONDS} s at ${RATE} req/s, PostgreSQL away for ${Math.round(SECONDS / 3)} s`,
    kind: 'backend',
    Q: r.answered,
    medianMs: r.p50,
    qps: r.answered / SECONDS,
    note: `failed ${failed}; answered ${answered}, rows ${stored}, dropped ${status.dropped}; spooled ${during.spooled} by mid-outage; spool replayed ${drainS.toFixed(1)} s after the run; p99 ${r.p99.toFixed(2)} ms`,
  },
];
printTable('PostgreSQL outage under load', rows, 'requests/s');
const summary = {
  seconds: SECONDS,
  rate: RATE,
  outageS: SECONDS / 3,
  sent: r.sent,
  answered,
  failed,
  stored,
  dropped: status.dropped,
  spooledMidOutage: during.spooled,
  healthMidOutage: during.health,
  drainS,
  p50Ms: r.p50,
  p99Ms: r.p99,
};
process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
process.stdout.write(
  `wrote ${writeResults('store-outage', { shape: { seconds: SECONDS, rate: RATE }, results: rows, summary })}\n`,
);
await gw.close();
await admin.query(`drop database ${dbName} with (force)`);
await admin.end();
process.exit(failed === 0 && stored === answered ? 0 : 1);
