/**
 * Versioned migrations, one list for both dialects (Kysely's schema builder). The applied version
 * is kept in `arbiter_meta`; a database newer than this code is refused with a one-line reason.
 */
import { sql, type Kysely } from 'kysely';

import { ArbiterError, ErrorCodes } from '../errors.js';
import type { Database } from './schema.js';
import { backfillSeries } from './series.js';

type Db = Kysely<Database>;

export interface Migration {
  version: number;
  what: string;
  up: (db: Kysely<unknown>, dialect: 'sqlite' | 'postgres') => Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    what: 'requests, calls, feedback, prompts, learned points',
    up: async (db, dialect) => {
      const big = dialect === 'postgres' ? 'bigint' : 'integer';
      const real = dialect === 'postgres' ? 'double precision' : 'real';
      await db.schema
        .createTable('requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('ts', big, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('task', 'text')
        .addColumn('model', 'text')
        .addColumn('decision_model', 'text')
        .addColumn('strategy', 'text')
        .addColumn('predicted_quality', real)
        .addColumn('predicted_cost', real)
        .addColumn('decode_strategy', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('code', 'text')
        .addColumn('latency_ms', real, (c) => c.notNull())
        .addColumn('cost', real, (c) => c.notNull())
        .addColumn('prompt_tokens', 'integer', (c) => c.notNull())
        .addColumn('completion_tokens', 'integer', (c) => c.notNull())
        .addColumn('calls', 'integer', (c) => c.notNull())
        .addColumn('fallbacks', 'text')
        .addColumn('prompt_hash', 'text')
        .execute();
      await db.schema.createIndex('requests_ts').on('requests').column('ts').execute();
      await db.schema.createIndex('requests_model_ts').on('requests').columns(['model', 'ts']).execute();
      await db.schema.createIndex('requests_key_ts').on('requests').columns(['key_id', 'ts']).execute();
      await db.schema
        .createTable('calls')
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('code', 'text')
        .addColumn('latency_ms', real, (c) => c.notNull())
        .addColumn('ttft_ms', real)
        .addColumn('prompt_tokens', 'integer', (c) => c.notNull())
        .addColumn('completion_tokens', 'integer', (c) => c.notNull())
        .addColumn('cost', real, (c) => c.notNull())
        .addColumn('estimated', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('calls_pk', ['request_id', 'attempt'])
        .execute();
      await db.schema
        .createTable('feedback')
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('score', real, (c) => c.notNull())
        .addColumn('comment', 'text')
        .addColumn('ts', big, (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addPrimaryKeyConstraint('feedback_pk', ['request_id', 'source'])
        .execute();
      await db.schema
        .createTable('prompts')
        .addColumn('request_id', 'text', (c) => c.primaryKey())
        .addColumn('prompt', 'text', (c) => c.notNull())
        .addColumn('answer', 'text')
        .execute();
      await db.schema
        .createTable('learned')
        .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('ts', big, (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('quality', real, (c) => c.notNull())
        .addColumn('task', 'text')
        .addColumn('embedding', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
        .addColumn('cap_task', 'text')
        .addColumn('cap_x1', real)
        .addColumn('cap_x2', real)
        .addColumn('embedder', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 2,
    what: 'hourly rollups per model × task × key (what the stats query reads), backfilled',
    up: async (db, dialect) => {
      const big = dialect === 'postgres' ? 'bigint' : 'integer';
      const real = dialect === 'postgres' ? 'double precision' : 'real';
      await db.schema
        .createTable('rollups')
        .addColumn('hour', big, (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('task', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('requests', big, (c) => c.notNull())
        .addColumn('errors', big, (c) => c.notNull())
        .addColumn('cost', real, (c) => c.notNull())
        .addColumn('latency_sum', real, (c) => c.notNull())
        .addColumn('prompt_tokens', big, (c) => c.notNull())
        .addColumn('completion_tokens', big, (c) => c.notNull())
        .addColumn('rated', big, (c) => c.notNull())
        .addColumn('score_sum', real, (c) => c.notNull())
        .addColumn('score_sq', real, (c) => c.notNull())
        .addPrimaryKeyConstraint('rollups_pk', ['hour', 'model', 'task', 'key_id'])
        .execute();
      // backfill from what is already stored: the requests, then their ratings
      await sql`insert into rollups (hour, model, task, key_id, requests, errors, cost, latency_sum, prompt_tokens, completion_tokens, rated, score_sum, score_sq)
        select (ts / 3600000) * 3600000, model, coalesce(task, '*'), coalesce(key_id, ''), count(*),
          sum(case when status = 'error' then 1 else 0 end), sum(cost), sum(latency_ms), sum(prompt_tokens), sum(completion_tokens), 0, 0, 0
        from requests where model is not null
        group by (ts / 3600000) * 3600000, model, coalesce(task, '*'), coalesce(key_id, '')`.execute(db);
      const rated = await sql<{
        hour: number;
        model: string;
        task: string;
        key_id: string;
        n: number;
        s: number;
        sq: number;
      }>`
        select (r.ts / 3600000) * 3600000 as hour, r.model as model, coalesce(r.task, '*') as task, coalesce(r.key_id, '') as key_id,
          count(*) as n, sum(f.score) as s, sum(f.score * f.score) as sq
        from feedback f join requests r on r.id = f.request_id where r.model is not null
        group by (r.ts / 3600000) * 3600000, r.model, coalesce(r.task, '*'), coalesce(r.key_id, '')`.execute(db);
      for (const r of rated.rows)
        await sql`update rollups set rated = rated + ${Number(r.n)}, score_sum = score_sum + ${Number(r.s)}, score_sq = score_sq + ${Number(r.sq)}
          where hour = ${Number(r.hour)} and model = ${r.model} and task = ${r.task} and key_id = ${r.key_id}`.execute(
          db,
        );
    },
  },
  {
    version: 3,
    what: 'drop the requests (model, ts) and (key_id, ts) indexes: stats read the rollups since v2, and each index cost every insert',
    up: async (db) => {
      await db.schema.dropIndex('requests_model_ts').ifExists().execute();
      await db.schema.dropIndex('requests_key_ts').ifExists().execute();
    },
  },
  {
    version: 4,
    what: "requests: the experiment and arm a request was assigned to, indexed for an experiment's analysis",
    up: async (db) => {
      await db.schema.alterTable('requests').addColumn('experiment', 'text').execute();
      await db.schema.alterTable('requests').addColumn('arm', 'text').execute();
      await db.schema.createIndex('requests_experiment').on('requests').columns(['experiment', 'arm']).execute();
    },
  },
  {
    version: 5,
    what: "calls: the pipeline phase a call ran for (a pipeline run is one request, its phases' calls under it)",
    up: async (db) => {
      await db.schema.alterTable('calls').addColumn('phase', 'text').execute();
    },
  },
  {
    version: 6,
    what: 'requests.decision (reason, confidence, alternatives); hourly latency histograms and event counts per model; comparison reports — what the dashboard reads',
    up: async (db, dialect) => {
      const big = dialect === 'postgres' ? 'bigint' : 'integer';
      await db.schema.alterTable('requests').addColumn('decision', 'text').execute();
      const real = dialect === 'postgres' ? 'double precision' : 'real';
      await db.schema
        .createTable('rollup_latency')
        .addColumn('hour', big, (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('n', big, (c) => c.notNull())
        .addColumn('buckets', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('rollup_latency_pk', ['hour', 'model', 'metric'])
        .execute();
      let slices = db.schema
        .createTable('rollup_slices')
        .addColumn('hour', big, (c) => c.notNull())
        .addColumn('slice', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull());
      for (const col of ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'rated'])
        slices = slices.addColumn(col, big, (c) => c.notNull());
      for (const col of ['cost', 'latency_sum', 'score_sum', 'score_sq'])
        slices = slices.addColumn(col, real, (c) => c.notNull());
      // a slice's rows are contiguous (a window of one slice is one range of the key; SQLite: no rowid)
      await slices
        .addPrimaryKeyConstraint('rollup_slices_pk', ['slice', 'hour', 'model', 'value'])
        .$call((b) => (dialect === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
        .execute();
      // the slices of what the rollups already hold
      const sums = sql.raw(
        'sum(requests), sum(errors), sum(cost), sum(latency_sum), sum(prompt_tokens), sum(completion_tokens), sum(rated), sum(score_sum), sum(score_sq)',
      );
      const cols = sql.raw(
        'hour, slice, model, value, requests, errors, cost, latency_sum, prompt_tokens, completion_tokens, rated, score_sum, score_sq',
      );
      await sql`insert into rollup_slices (${cols}) select hour, 'model', model, '', ${sums} from rollups group by hour, model`.execute(
        db,
      );
      await sql`insert into rollup_slices (${cols}) select hour, 'task', model, task, ${sums} from rollups group by hour, model, task`.execute(
        db,
      );
      await sql`insert into rollup_slices (${cols}) select hour, 'key', '', key_id, ${sums} from rollups group by hour, key_id`.execute(
        db,
      );
      const day = sql.raw('(hour / 86400000) * 86400000');
      await sql`insert into rollup_slices (${cols}) select ${day}, 'task@day', model, task, ${sums} from rollups group by ${day}, model, task`.execute(
        db,
      );
      await sql`insert into rollup_slices (${cols}) select ${day}, 'key@day', '', key_id, ${sums} from rollups group by ${day}, key_id`.execute(
        db,
      );
      await db.schema
        .createTable('rollup_events')
        .addColumn('hour', big, (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('n', big, (c) => c.notNull())
        .addPrimaryKeyConstraint('rollup_events_pk', ['hour', 'model', 'event'])
        .$call((b) => (dialect === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
        .execute();
      await db.schema
        .createTable('reports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('ts', big, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('reports_kind_ts').on('reports').columns(['kind', 'ts']).execute();
      await backfillSeries(db as Db, dialect);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** Brings the database to SCHEMA_VERSION, each migration in its own transaction; refuses a newer database. */
export async function migrate(db: Db, dialect: 'sqlite' | 'postgres'): Promise<{ from: number; to: number }> {
  await db.schema
    .createTable('arbiter_meta')
    .ifNotExists()
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  const row = await db
    .selectFrom('arbiter_meta')
    .select('value')
    .where('key', '=', 'schema_version')
    .executeTakeFirst();
  const from = row ? Number(row.value) : 0;
  if (from > SCHEMA_VERSION)
    throw new ArbiterError(
      ErrorCodes.INVALID_CONFIG,
      `the store's schema is version ${from}, newer than this arbiter (${SCHEMA_VERSION}): upgrade arbiter, or point store.url at another database`,
      { param: 'store.url' },
    );
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
    await db.transaction().execute(async (tx) => {
      await m.up(tx as unknown as Kysely<unknown>, dialect);
      await tx
        .insertInto('arbiter_meta')
        .values({ key: 'schema_version', value: String(m.version) })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(m.version) }))
        .execute();
    });
  }
  return { from, to: SCHEMA_VERSION };
}
