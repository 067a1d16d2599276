/**
 * SQLite writes off the event loop: better-sqlite3 is synchronous, so the Recorder's batch writes
 * run in a worker thread with its own connection (WAL lets the main connection read meanwhile).
 * Each batch is posted, written in one transaction there, and acknowledged (or its error returned).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import type { StoredRecord } from './sql-store.js';

const WORKER = new URL('./sqlite-writer-worker.js', import.meta.url);

/**
 * Whether the writer thread can run: its compiled file exists (the package runs from dist/; from
 * TypeScript sources under a test runner there is no .js to start, and writes stay in-process).
 */
export const writerAvailable = () => existsSync(fileURLToPath(WORKER));

export class SqliteWriter {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (m?: NodeJS.MemoryUsage) => void; reject: (e: Error) => void }
  >();
  private failed: Error | undefined;

  constructor(file: string) {
    this.worker = new Worker(WORKER, { workerData: { file } });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; error?: string; memory?: NodeJS.MemoryUsage }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error === undefined) w?.resolve(m.memory);
      else w?.reject(new Error(m.error));
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`the SQLite writer thread exited (${code})`)));
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  write(records: readonly StoredRecord[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve: () => resolve(), reject });
      this.worker.postMessage({ id, records });
    });
  }

  /** The writer thread's heap (memory diagnostics). */
  memory(): Promise<NodeJS.MemoryUsage | undefined> {
    if (this.failed) return Promise.resolve(undefined);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, memory: true });
    });
  }

  async close(): Promise<void> {
    this.failed ??= new Error('the SQLite writer is closed');
    await this.worker.terminate();
  }
}
