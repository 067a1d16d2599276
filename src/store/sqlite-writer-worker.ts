/** The SQLite writer thread (see sqlite-writer.ts): its own connection, one transaction per batch. */
import { parentPort, workerData } from 'node:worker_threads';

import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';

import type { Database } from './schema.js';
import { SqlStore, type StoredRecord } from './sql-store.js';

const sqlite = new BetterSqlite3((workerData as { file: string }).file, { timeout: 5000 });
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = NORMAL');
const store = new SqlStore(new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }), 'sqlite');

parentPort!.on('message', (m: { id: number; records?: StoredRecord[]; memory?: true }) => {
  // the thread's own heap (its isolate), for memory diagnostics
  if (m.memory) return void parentPort!.postMessage({ id: m.id, memory: process.memoryUsage() });
  store.write(m.records!).then(
    () => parentPort!.postMessage({ id: m.id }),
    (e: unknown) => parentPort!.postMessage({ id: m.id, error: (e as Error).message }),
  );
});
