/**
 * The outcome store over SQL (Kysely): SQLite (better-sqlite3, WAL) embedded, PostgreSQL (pg) at
 * scale — one schema, one set of migrations, one implementation. Writes are batched by the
 * Recorder; everything here is idempotent (a replayed batch changes nothing twice).
 */
import { createHash } from 'node:crypto';

import { sql, type Insertable, type InsertQueryBuilder, type InsertResult, type Kysely, type Selectable } from 'kysely';

import { addRequest, addToRollups, hourOf, ratedInterval, rollupKey, ZERO_SUMS } from './rollups.js';
import { addToSeries, SeriesSums } from './series.js';
import { StoreViews } from './views.js';
import type {
  CallsTable,
  Database,
  FeedbackTable,
  LearnedTable,
  PromptsTable,
  RequestsTable,
  RollupsTable,
} from './schema.js';

export type Dialect = 'sqlite' | 'postgres';
export type PromptPolicy = 'none' | 'hash' | 'full';

/** One request as stored: its row, its calls, and (store.prompts: full) its text. */
export interface StoredRecord {
  request: RequestsTable;
  calls: CallsTable[];
  text?: PromptsTable;
}

export interface StatsQuery {
  /** Epoch ms (default: 7 days ago). */
  since?: number;
  model?: string;
  task?: string;
  keyId?: string;
}

export interface StatsRow {
  model: string;
  task: string;
  requests: number;
  errors: number;
  errorRate: number;
  cost: number;
  costPerRequest: number;
  meanLatencyMs: number;
  promptTokens: number;
  completionTokens: number;
  rated: number;
  /** Mean feedback score with a 95% interval (normal approximation), when rated. */
  quality: { mean: number; low: number; high: number } | null;
}

export interface SpendRow {
  keyId: string | null;
  requests: number;
  cost: number;
}

export const hashText = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

export class SqlStore {
  /** The dashboard's reads. */
  readonly views: StoreViews;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {
    this.views = new StoreViews(db, dialect);
  }

  /**
   * Writes records in one transaction, with the rollups of those newly stored (a request already
   * stored is left as it is and not counted again: replaying a batch changes nothing).
   */
  async write(records: readonly StoredRecord[]): Promise<void> {
    if (!records.length) return;
    await this.db.transaction().execute(async (tx) => {
      const sums = new Map<string, RollupsTable>();
      const series = new SeriesSums();
      // SQLite binds at most 32,766 parameters a statement; PostgreSQL takes each table's rows as one JSON parameter
      const step = this.dialect === 'postgres' ? records.length : 500;
      for (let i = 0; i < records.length; i += step) {
        const part = records.slice(i, i + step);
        const inserted = await tx
          .insertInto('requests')
          .$call((q) =>
            this.rows(
              q,
              'requests',
              part.map((r) => r.request),
            ),
          )
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .execute();
        const fresh = new Set(inserted.map((r) => r.id));
        for (const r of part) if (fresh.has(r.request.id)) series.add(r.request, r.calls);
        // a routing decision (kind route) made no call: it is not a request to its model's volume,
        // latency or cost, though its ratings count in the model's quality
        for (const { request: q } of part)
          if (fresh.has(q.id) && q.model !== null && q.kind !== 'route') addRequest(sums, q);
        const calls = part.flatMap((r) => r.calls);
        if (calls.length)
          await tx
            .insertInto('calls')
            .$call((q) => this.rows(q, 'calls', calls))
            .onConflict((oc) => oc.columns(['request_id', 'attempt']).doNothing())
            .execute();
        const texts = part.flatMap((r) => (r.text ? [r.text] : []));
        if (texts.length)
          await tx
            .insertInto('prompts')
            .$call((q) => this.rows(q, 'prompts', texts))
            .onConflict((oc) => oc.column('request_id').doNothing())
            .execute();
      }
      await addToRollups(tx, [...sums.values()]);
      await addToSeries(tx, series, this.dialect);
    });
  }

  /**
   * The rows to insert: bound values on SQLite; on PostgreSQL one JSON parameter expanded by
   * json_populate_recordset into the table's own row type (binding 25 columns × 500 rows one by
   * one made the server parse 12,500 parameters a statement: 9k records/s).
   */
  private rows<T extends 'requests' | 'calls' | 'prompts'>(
    q: InsertQueryBuilder<Database, T, InsertResult>,
    table: T,
    rows: Array<Insertable<Database[T]>>,
  ): InsertQueryBuilder<Database, T, InsertResult> {
    if (this.dialect !== 'postgres') return q.values(rows as never);
    const from = sql`json_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(rows)})`.as('r');
    return q.expression((eb) => eb.selectFrom(from).selectAll() as never);
  }

  /** Records feedback; one per (request, source): a second one replaces the first (and its share of the rollup). */
  async feedback(f: FeedbackTable): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      // two ratings of one request from one source at once (two gateways): the second waits for
      // the first, so it sees the rating it replaces and the rollup counts one rating, not two.
      // SQLite runs one transaction at a time anyway.
      const q = await tx
        .selectFrom('requests')
        .select(['ts', 'model', 'task', 'key_id'])
        .where('id', '=', f.request_id)
        .$if(this.dialect === 'postgres', (b) => b.forUpdate())
        .executeTakeFirst();
      const old = await tx
        .selectFrom('feedback')
        .select('score')
        .where('request_id', '=', f.request_id)
        .where('source', '=', f.source)
        .executeTakeFirst();
      await tx
        .insertInto('feedback')
        .values(f)
        .onConflict((oc) =>
          oc
            .columns(['request_id', 'source'])
            .doUpdateSet({ score: f.score, comment: f.comment, ts: f.ts, key_id: f.key_id }),
        )
        .execute();
      if (!q?.model) return;
      const was = old === undefined ? undefined : Number(old.score);
      await addToRollups(tx, [
        {
          ...rollupKey({ ts: Number(q.ts), model: q.model, task: q.task, key_id: q.key_id }),
          ...ZERO_SUMS,
          rated: was === undefined ? 1 : 0,
          score_sum: f.score - (was ?? 0),
          score_sq: f.score ** 2 - (was ?? 0) ** 2,
        },
      ]);
    });
  }

  async requestRow(id: string): Promise<RequestsTable | undefined> {
    return this.db.selectFrom('requests').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The request, its calls, its feedback and (when kept) its text. */
  async request(id: string) {
    const row = await this.requestRow(id);
    if (!row) return undefined;
    const [calls, feedback, text] = await Promise.all([
      this.db.selectFrom('calls').selectAll().where('request_id', '=', id).orderBy('attempt').execute(),
      this.db.selectFrom('feedback').selectAll().where('request_id', '=', id).orderBy('ts').execute(),
      this.db.selectFrom('prompts').selectAll().where('request_id', '=', id).executeTakeFirst(),
    ]);
    return {
      ...row,
      ts: Number(row.ts),
      calls,
      feedback: feedback.map((f) => ({ ...f, ts: Number(f.ts) })),
      ...(text ? { prompt: text.prompt, answer: text.answer } : {}),
    };
  }

  /**
   * Per model × task over the window (whole hours: `since` is rounded down to the hour): volume,
   * errors, cost, latency, and rated quality with its 95% interval — from the hourly rollups, so
   * the query reads at most (hours × models × tasks × keys) rows whatever the request volume.
   */
  async stats(q: StatsQuery = {}): Promise<StatsRow[]> {
    let base = this.db.selectFrom('rollups').where('hour', '>=', hourOf(q.since ?? Date.now() - 7 * 86_400_000));
    if (q.model) base = base.where('model', '=', q.model);
    if (q.task) base = base.where('task', '=', q.task);
    if (q.keyId) base = base.where('key_id', '=', q.keyId);
    const rows = await base
      .select((eb) => [
        'model',
        'task',
        eb.fn.sum<number>('requests').as('requests'),
        eb.fn.sum<number>('errors').as('errors'),
        eb.fn.sum<number>('cost').as('cost'),
        eb.fn.sum<number>('latency_sum').as('latency_sum'),
        eb.fn.sum<number>('prompt_tokens').as('pt'),
        eb.fn.sum<number>('completion_tokens').as('ct'),
        eb.fn.sum<number>('rated').as('rated'),
        eb.fn.sum<number>('score_sum').as('score_sum'),
        eb.fn.sum<number>('score_sq').as('score_sq'),
      ])
      .groupBy(['model', 'task'])
      .execute();
    return rows.map((v) => {
      const n = Number(v.requests);
      const rn = Number(v.rated);
      const quality = ratedInterval(rn, Number(v.score_sum), Number(v.score_sq));
      return {
        model: v.model,
        task: v.task,
        requests: n,
        errors: Number(v.errors),
        errorRate: n ? Number(v.errors) / n : 0,
        cost: Number(v.cost ?? 0),
        costPerRequest: n ? Number(v.cost ?? 0) / n : 0,
        meanLatencyMs: n ? Number(v.latency_sum) / n : 0,
        promptTokens: Number(v.pt ?? 0),
        completionTokens: Number(v.ct ?? 0),
        rated: rn,
        quality,
      };
    });
  }

  /** Spend per API key over the window (whole hours). */
  async spend(since = Date.now() - 7 * 86_400_000): Promise<SpendRow[]> {
    const rows = await this.db
      .selectFrom('rollups')
      .where('hour', '>=', hourOf(since))
      .select((eb) => ['key_id', eb.fn.sum<number>('requests').as('n'), eb.fn.sum<number>('cost').as('cost')])
      .groupBy('key_id')
      .execute();
    return rows.map((r) => ({ keyId: r.key_id || null, requests: Number(r.n), cost: Number(r.cost ?? 0) }));
  }

  /** The most recent successful-or-not calls since `since` (at most `limit`), oldest first: to rebuild profiles. */
  async recentCalls(since: number, limit = 100_000) {
    const rows = await this.db
      .selectFrom('calls')
      .innerJoin('requests', 'requests.id', 'calls.request_id')
      .where('requests.ts', '>=', since)
      .select([
        'calls.model',
        'calls.status',
        'calls.latency_ms',
        'calls.ttft_ms',
        'calls.completion_tokens',
        'calls.cost',
        'calls.estimated',
        'requests.ts',
        'requests.task',
      ])
      .orderBy('requests.ts', 'desc')
      .limit(limit)
      .execute();
    return rows.reverse();
  }

  /** Ratings since `since` with their request's model and task, oldest first (at most `limit`): to rebuild profiles. */
  async recentRatings(since: number, limit = 100_000) {
    const rows = await this.db
      .selectFrom('feedback')
      .innerJoin('requests', 'requests.id', 'feedback.request_id')
      .where('feedback.ts', '>=', since)
      .where('requests.model', 'is not', null)
      .select([
        'requests.model',
        'requests.task',
        'requests.decision_model',
        'requests.predicted_quality',
        'feedback.score',
        'feedback.ts',
      ])
      .orderBy('feedback.ts', 'desc')
      .limit(limit)
      .execute();
    return rows.reverse();
  }

  async addLearned(p: Insertable<LearnedTable>): Promise<void> {
    await this.db.insertInto('learned').values(p).execute();
  }

  /** Learned points computed with this embedder, oldest first. */
  async learned(embedder: string): Promise<Array<Selectable<LearnedTable>>> {
    const rows = await this.db
      .selectFrom('learned')
      .selectAll()
      .where('embedder', '=', embedder)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({ ...r, seq: Number(r.seq), ts: Number(r.ts) }));
  }

  /** Rated requests since `since`, oldest first, with their text when kept (for export and training). */
  async *rated(
    since: number,
    pageSize = 1000,
  ): AsyncGenerator<{
    id: string;
    ts: number;
    task: string | null;
    model: string;
    score: number;
    cost: number;
    prompt: string | null;
  }> {
    let after = '';
    let afterTs = since;
    for (;;) {
      const page = await this.db
        .selectFrom('requests')
        .innerJoin('feedback', 'feedback.request_id', 'requests.id')
        .leftJoin('prompts', 'prompts.request_id', 'requests.id')
        .where('requests.model', 'is not', null)
        .where((eb) =>
          eb.or([
            eb('requests.ts', '>', afterTs),
            eb.and([eb('requests.ts', '=', afterTs), eb('requests.id', '>', after)]),
          ]),
        )
        .select(['requests.id', 'requests.ts', 'requests.task', 'requests.model', 'requests.cost', 'prompts.prompt'])
        .select((eb) => eb.fn.avg<number>('feedback.score').as('score'))
        .groupBy(['requests.id', 'requests.ts', 'requests.task', 'requests.model', 'requests.cost', 'prompts.prompt'])
        .orderBy('requests.ts')
        .orderBy('requests.id')
        .limit(pageSize)
        .execute();
      for (const r of page)
        yield {
          id: r.id,
          ts: Number(r.ts),
          task: r.task,
          model: r.model!,
          score: Number(r.score),
          cost: Number(r.cost),
          prompt: r.prompt,
        };
      if (page.length < pageSize) return;
      after = page.at(-1)!.id;
      afterTs = Number(page.at(-1)!.ts);
    }
  }

  /** Deletes requests (with their calls, feedback and text) older than `before`; returns how many. */
  async purge(before: number): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      const old = tx.selectFrom('requests').select('id').where('ts', '<', before);
      await tx.deleteFrom('calls').where('request_id', 'in', old).execute();
      await tx.deleteFrom('feedback').where('request_id', 'in', old).execute();
      await tx.deleteFrom('prompts').where('request_id', 'in', old).execute();
      const r = await tx.deleteFrom('requests').where('ts', '<', before).executeTakeFirst();
      await tx.deleteFrom('rollups').where('hour', '<', hourOf(before)).execute(); // whole hours only
      await tx.deleteFrom('rollup_latency').where('hour', '<', hourOf(before)).execute();
      await tx.deleteFrom('rollup_events').where('hour', '<', hourOf(before)).execute();
      return Number(r.numDeletedRows);
    });
  }

  /** The applied schema version. */
  async version(): Promise<number> {
    const r = await this.db
      .selectFrom('arbiter_meta')
      .select('value')
      .where('key', '=', 'schema_version')
      .executeTakeFirst();
    return Number(r?.value ?? 0);
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
