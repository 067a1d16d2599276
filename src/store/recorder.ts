/**
 * The write path: outcome events go into a bounded in-memory queue (never awaited by a request)
 * and are written in batches — every `flushMs` or `batchRows` rows, one transaction each. When a
 * write fails (database down, disk full, a locked file) the batch is appended to a spool file and
 * replayed, oldest first, once writes succeed again; meanwhile `status` is `degraded`. A full
 * queue or spool drops records and counts them. `close()` flushes and replays what it can.
 * Bound on loss: after SIGKILL, what was queued and not yet written — at most one flush window
 * (`flushMs`) of requests, or `batchRows` rows, whichever came first — plus a batch being written.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';

import type { StoredRecord } from './sql-store.js';

/** Where batches go: the SQL store itself, or the SQLite writer thread. */
export interface BatchWriter {
  write(records: readonly StoredRecord[]): Promise<void>;
}

export interface RecorderOptions {
  flushMs: number;
  batchRows: number;
  maxQueue: number;
  /** Where failed batches wait (JSONL); undefined: no spool (they are dropped and counted). */
  spool?: string;
  maxSpoolBytes: number;
  /** Batches written at once when more than one is waiting (PostgreSQL: 2; SQLite has one writer: 1). */
  writers?: number;
}

export interface RecorderStatus {
  status: 'ok' | 'degraded';
  queued: number;
  written: number;
  dropped: number;
  spooled: number;
  lastError?: string;
}

export class Recorder {
  private queue: StoredRecord[] = [];
  /** Batches being written now (a request in one is found by `has`, so a read can wait for it). */
  private inFlight: StoredRecord[][] = [];
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> | undefined;
  private closed = false;
  private readonly counts = { written: 0, dropped: 0, spooled: 0 };
  private lastError: string | undefined;

  constructor(
    private readonly store: BatchWriter,
    private readonly o: RecorderOptions,
  ) {
    this.timer = setInterval(() => void this.flush(), o.flushMs);
    this.timer.unref();
  }

  /** Queues a record; never waits, never throws. */
  add(r: StoredRecord): void {
    if (this.closed || this.queue.length >= this.o.maxQueue) {
      this.counts.dropped++;
      return;
    }
    this.queue.push(r);
    if (this.queue.length >= this.o.batchRows) void this.flush();
  }

  /** Whether a request is queued or being written (not yet readable). */
  has(id: string): boolean {
    const is = (r: StoredRecord) => r.request.id === id;
    return this.queue.some(is) || this.inFlight.some((b) => b.some(is));
  }

  get status(): RecorderStatus {
    return {
      status: this.lastError === undefined ? 'ok' : 'degraded',
      queued: this.queue.length,
      written: this.counts.written,
      dropped: this.counts.dropped,
      spooled: this.counts.spooled,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Writes what is queued (and replays the spool first); one flush at a time. */
  flush(): Promise<void> {
    this.writing ??= this.drain().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async drain(): Promise<void> {
    const spool = this.o.spool;
    if (spool && (existsSync(spool) || existsSync(`${spool}.replaying`)) && !(await this.replay()))
      return this.spill(this.take());
    while (this.queue.length) {
      const batches = [this.take()];
      while (batches.length < (this.o.writers ?? 1) && this.queue.length) batches.push(this.take());
      this.inFlight = batches;
      const done = await Promise.allSettled(batches.map((b) => this.store.write(b)));
      this.inFlight = [];
      let failed = false;
      done.forEach((d, i) => {
        if (d.status === 'fulfilled') {
          this.counts.written += batches[i]!.length;
          return;
        }
        failed = true;
        this.lastError = ((d.reason as Error)?.message ?? String(d.reason)).split('\n')[0]!.slice(0, 200);
        this.spill(batches[i]!);
      });
      if (failed) {
        this.spill(this.take(Infinity));
        return;
      }
      this.lastError = undefined;
    }
  }

  private take(n = this.o.batchRows): StoredRecord[] {
    return this.queue.splice(0, n);
  }

  /** Appends records to the spool (or drops and counts them past its bound). */
  private spill(records: StoredRecord[]): void {
    if (!records.length) return;
    if (!this.o.spool) {
      this.counts.dropped += records.length;
      return;
    }
    const size = existsSync(this.o.spool) ? statSync(this.o.spool).size : 0;
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    if (size + text.length > this.o.maxSpoolBytes) {
      this.counts.dropped += records.length;
      return;
    }
    try {
      appendFileSync(this.o.spool, text);
      this.counts.spooled += records.length;
    } catch {
      this.counts.dropped += records.length;
    }
  }

  /** Writes the spooled batches; true when the spool is empty afterwards. */
  private async replay(): Promise<boolean> {
    const spool = this.o.spool!;
    const claimed = `${spool}.replaying`;
    try {
      if (!existsSync(claimed)) {
        if (!existsSync(spool)) return true;
        renameSync(spool, claimed);
      }
      const lines = readFileSync(claimed, 'utf8').split('\n').filter(Boolean);
      const records = lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as StoredRecord];
        } catch {
          this.counts.dropped++; // a torn last line (a crash mid-append)
          return [];
        }
      });
      for (let i = 0; i < records.length; i += this.o.batchRows)
        await this.store.write(records.slice(i, i + this.o.batchRows));
      this.counts.written += records.length;
      this.counts.spooled = Math.max(0, this.counts.spooled - records.length);
      unlinkSync(claimed);
      this.lastError = undefined;
      return !existsSync(spool) || (await this.replay());
    } catch (e) {
      this.lastError = (e as Error).message.split('\n')[0]!.slice(0, 200);
      return false;
    }
  }

  /** Stops taking records, writes what is queued (or spools it). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.writing;
    await this.flush();
  }
}
