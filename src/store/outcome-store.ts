/**
 * The outcome store as the engine uses it: `record()` queues an outcome event (never waits),
 * reads see what is queued too (a request rated right after its answer is found), and the
 * learned points that let the router's learning survive restarts and reloads.
 */

import { resolve } from 'node:path';

import type { StoreSettings } from '../config/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { OutcomeEvent } from './events.js';
import { openStore, parseStoreUrl } from './open.js';
import { Recorder, type RecorderStatus } from './recorder.js';
import { toStored } from './record.js';
import { SqliteWriter, writerAvailable } from './sqlite-writer.js';
import type { FeedbackTable, RequestsTable } from './schema.js';
import { hashText, type PromptPolicy, type SqlStore, type StatsQuery } from './sql-store.js';

/** The URL without its password (the spool's name must not depend on, or reveal, the secret). */
const redactUrl = (url: string) => url.replace(/\/\/([^:@/]*)(:[^@/]*)?@/, '//$1@');

export interface OpenOptions {
  /** Relative sqlite: paths and the default spool are resolved from here (the config file's folder). */
  baseDir?: string;
  env?: NodeJS.ProcessEnv;
}

export class OutcomeStore {
  private constructor(
    readonly sql: SqlStore,
    private readonly recorder: Recorder,
    readonly prompts: PromptPolicy,
    private readonly writer?: SqliteWriter,
  ) {}

  /** The store a config's `store` section names (undefined for `none`). */
  static async open(
    settings: Partial<StoreSettings> & { url: string },
    o: OpenOptions = {},
  ): Promise<OutcomeStore | undefined> {
    const env = o.env ?? process.env;
    const url = (settings.urlEnv && env[settings.urlEnv]) || settings.url;
    if (settings.urlEnv && !env[settings.urlEnv] && !settings.url)
      throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `store.urlEnv names ${settings.urlEnv}, which is not set`, {
        param: 'store.urlEnv',
      });
    const where = parseStoreUrl(url, o.baseDir);
    const sql = await openStore(url, o.baseDir);
    if (!sql) return undefined;
    // a SQLite store spools beside its file; a PostgreSQL one in the config's folder, named after
    // the database (gateways sharing a folder and a database should each set store.spool)
    const spool =
      settings.spool ??
      (where?.dialect === 'sqlite'
        ? where.file !== ':memory:'
          ? `${where.file}.spool.jsonl`
          : undefined
        : `arbiter-${hashText(redactUrl(url))}.spool.jsonl`);
    // SQLite writes synchronously: batches go to a writer thread (when it can run) so no request waits on them
    const writer =
      where?.dialect === 'sqlite' && where.file !== ':memory:' && writerAvailable()
        ? new SqliteWriter(where.file)
        : undefined;
    const recorder = new Recorder(writer ?? sql, {
      flushMs: settings.flushMs ?? 500,
      batchRows: settings.batchRows ?? 500,
      maxQueue: settings.maxQueue ?? 10_000,
      maxSpoolBytes: settings.maxSpoolBytes ?? 100 << 20,
      writers: where?.dialect === 'postgres' ? 2 : 1,
      ...(spool ? { spool: resolve(o.baseDir ?? process.cwd(), spool) } : {}),
    });
    return new OutcomeStore(sql, recorder, settings.prompts ?? 'hash', writer);
  }

  /** Queues the event's rows; never waits, never throws. */
  record(e: OutcomeEvent): void {
    this.recorder.add(toStored(e, this.prompts));
  }

  get status(): RecorderStatus {
    return this.recorder.status;
  }

  /** Writes what is queued now. */
  flush(): Promise<void> {
    return this.recorder.flush();
  }

  /** The stored request row (writing the queue first when it holds the request). */
  async find(id: string): Promise<RequestsTable | undefined> {
    if (this.recorder.has(id)) await this.recorder.flush();
    return this.sql.requestRow(id);
  }

  async request(id: string) {
    if (this.recorder.has(id)) await this.recorder.flush();
    return this.sql.request(id);
  }

  /** Reads see every record already accepted: the queue is written first. */
  async stats(q: StatsQuery) {
    await this.recorder.flush();
    return this.sql.stats(q);
  }

  async spend(since?: number) {
    await this.recorder.flush();
    return this.sql.spend(since);
  }

  feedback(f: FeedbackTable): Promise<void> {
    return this.sql.feedback(f);
  }

  /** The SQLite writer thread's heap, when there is one (memory diagnostics). */
  writerMemory(): Promise<NodeJS.MemoryUsage | undefined> {
    return this.writer?.memory() ?? Promise.resolve(undefined);
  }

  /** Whether batches are written by the SQLite writer thread. */
  get writesOffThread(): boolean {
    return this.writer !== undefined;
  }

  async close(): Promise<void> {
    await this.recorder.close();
    await this.writer?.close();
    await this.sql.close();
  }
}
