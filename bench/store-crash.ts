/**
 * The store's loss bound under SIGKILL, measured: a child process answers requests with the store
 * on (flushMs 500) and prints each answered request's id; it is killed with SIGKILL at a random
 * moment; then every answered id missing from the database is lost, and its age at the kill (how
 * long before the kill it was answered) is compared with the stated bound (one flush window plus a
 * batch being written).
 *   npm run bench -- store-crash        (BENCH_CRASH_RUNS, default 5)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { openStore } from '../src/store/index.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

const RUNS = Number(process.env.BENCH_CRASH_RUNS ?? 5);
const FLUSH_MS = 500;
const rows: ResultRow[] = [];
const runs: Array<{ answered: number; stored: number; lost: number; maxAgeMs: number; killedAtMs: number }> = [];

for (let run = 0; run < RUNS; run++) {
  const file = join(mkdtempSync(join(tmpdir(), 'arbiter-crash-')), 'c.db');
  const child = spawn(
    process.execPath,
    [new URL('./lib/crash-child.js', import.meta.url).pathname, file, String(FLUSH_MS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const answered: Array<{ at: number; id: string }> = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') return ready();
    const [at, id] = line.split(' ');
    answered.push({ at: Number(at), id: id! });
  });
  await isReady;
  await new Promise((r) => setTimeout(r, 2000 + Math.random() * 2000));
  const killedAt = answered.at(-1)?.at ?? 0; // the child's clock: the last answer it reported
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const store = (await openStore(`sqlite:${file}`))!;
  const stored = new Set((await store.db.selectFrom('requests').select('id').execute()).map((r) => r.id));
  await store.close();
  const lost = answered.filter((a) => !stored.has(a.id));
  const maxAgeMs = lost.length ? killedAt - Math.min(...lost.map((a) => a.at)) : 0;
  runs.push({ answered: answered.length, stored: stored.size, lost: lost.length, maxAgeMs, killedAtMs: killedAt });
  rows.push({
    name: `run ${run + 1}`,
    kind: 'backend',
    Q: answered.length,
    medianMs: maxAgeMs,
    qps: (1000 * answered.length) / killedAt,
    note: `answered ${answered.length}, stored ${stored.size}, lost ${lost.length}; oldest lost answered ${maxAgeMs.toFixed(0)} ms before the kill (bound: ${FLUSH_MS} ms flush window + a batch being written)`,
  });
}
printTable(
  `SIGKILL under load (flushMs ${FLUSH_MS}); "median ms": the oldest lost record's age at the kill`,
  rows,
  'answered/s',
);
const summary = {
  flushMs: FLUSH_MS,
  runs,
  maxLost: Math.max(...runs.map((r) => r.lost)),
  maxAgeMs: Math.max(...runs.map((r) => r.maxAgeMs)),
};
process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
process.stdout.write(
  `wrote ${writeResults('store-crash', { shape: { runs: RUNS, flushMs: FLUSH_MS }, results: rows, summary })}\n`,
);
