/**
 * Opens the outcome store a URL names: `sqlite:<file>` (relative to `baseDir`; created on first
 * start, WAL mode), `sqlite::memory:`, `postgres://…` / `postgresql://…`, or `none`. Migrations run
 * on open; a database whose schema is newer than this code is refused.
 */
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { redactSecrets } from '../text.js';
import { migrate } from './migrations.js';
import type { Database } from './schema.js';
import { SqlStore } from './sql-store.js';

/** `none`, or where the store lives and what kind it is. */
export function parseStoreUrl(
  url: string,
  baseDir = process.cwd(),
): { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string } | null {
  if (url === 'none') return null;
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file)
      throw new ArbiterError(
        ErrorCodes.INVALID_CONFIG,
        'store.url sqlite: needs a file (sqlite:./arbiter.db) or :memory:',
        { param: 'store.url' },
      );
    return { dialect: 'sqlite', file: file === ':memory:' ? file : isAbsolute(file) ? file : resolve(baseDir, file) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', url };
  throw new ArbiterError(
    ErrorCodes.INVALID_CONFIG,
    `store.url must be none, sqlite:<file> or postgres://…, got ${JSON.stringify(redactSecrets(url.replace(/\/\/[^@/]*@/, '//…@')))}`,
    { param: 'store.url' },
  );
}

/** Opens (and migrates) the store, or undefined for `none`. */
export async function openStore(url: string, baseDir?: string): Promise<SqlStore | undefined> {
  const where = parseStoreUrl(url, baseDir);
  if (!where) return undefined;
  let db: Kysely<Database>;
  if (where.dialect === 'sqlite') {
    if (where.file !== ':memory:') mkdirSync(dirname(where.file), { recursive: true });
    let sqlite: BetterSqlite3.Database;
    try {
      sqlite = new BetterSqlite3(where.file, { timeout: 2000 });
    } catch (e) {
      throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `store: cannot open ${where.file}: ${(e as Error).message}`, {
        param: 'store.url',
        cause: e,
      });
    }
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  } else {
    const pool = new pg.Pool({
      connectionString: where.url,
      max: 4,
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 10_000,
      statement_timeout: 30_000,
      // client side too: a server that stops answering (no reset, no reply) must not hold a batch forever
      query_timeout: 35_000,
    });
    pool.on('error', () => {}); // an idle client's error (the server went away) surfaces on the next query
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  try {
    await migrate(db, where.dialect);
  } catch (e) {
    await db.destroy().catch(() => {});
    if (e instanceof ArbiterError) throw e;
    throw new ArbiterError(
      ErrorCodes.INVALID_CONFIG,
      `store: cannot open ${where.dialect === 'sqlite' ? where.file : 'the PostgreSQL database'}: ${redactSecrets((e as Error).message)}`,
      { param: 'store.url', cause: e },
    );
  }
  return new SqlStore(db, where.dialect);
}
