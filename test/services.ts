/**
 * Services the tests use when they are there: PostgreSQL (ARBITER_TEST_PG, default the local
 * server's `test` database). A missing service skips its tests with a visible notice; with
 * ARBITER_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails instead.
 */
import { existsSync } from 'node:fs';

import pg from 'pg';

export const PG_URL = process.env.ARBITER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const required = process.env.ARBITER_REQUIRE_SERVICES === '1';

/** Whether PostgreSQL answers; prints a notice (or throws, when services are required) when not. */
export async function postgresAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch (e) {
    const why = `PostgreSQL at ${PG_URL.replace(/\/\/[^@/]*@/, '//…@')} is not reachable (${(e as Error).message})`;
    if (required) throw new Error(`${why}; ARBITER_REQUIRE_SERVICES=1 makes that a failure`, { cause: e });
    console.warn(`\n  ⚠ skipping PostgreSQL tests: ${why}\n`);
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** A fresh database for one test file (created on the server, dropped by the returned function). */
export async function freshPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `arbiter_t_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Chromium for the browser tests (ARBITER_CHROMIUM, else Debian's /usr/bin/chromium); a notice (or, with services required, a failure) when absent. */
export function chromiumPath(): string | undefined {
  const path = process.env.ARBITER_CHROMIUM ?? '/usr/bin/chromium';
  if (existsSync(path)) return path;
  const why = `Chromium is not at ${path} (apt-get install -y chromium, or set ARBITER_CHROMIUM)`;
  if (required) throw new Error(`${why}; ARBITER_REQUIRE_SERVICES=1 makes that a failure`);
  console.warn(`\n  ⚠ skipping browser tests: ${why}\n`);
  return undefined;
}

/** The flags Chromium runs headless with here (no sandbox as root, no GPU, nothing fetched in the background). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-dev-shm-usage',
];
