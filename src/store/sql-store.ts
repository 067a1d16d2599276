/**
 * The outcome store over SQL (Kysely): SQLite (better-sqlite3, WAL) embedded, PostgreSQL (pg) at
 * scale — one schema, one set of migrations, one implementation. Writes are batched by the
 * Recorder; everything here is idempotent (a replayed batch changes nothing twice).
 */
import { createHash } from 'node:crypto';

import type { Insertable, Kysely, Selectable } from 'kysely';

import type { CallsTable, Database, FeedbackTable, LearnedTable, PromptsTable, RequestsTable } from './schema.js';

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
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {}

  /** Writes records in one transaction; a request already stored is left as it is. */
  async write(records: readonly StoredRecord[]): Promise<void> {
    if (!records.length) return;
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < records.length; i += 200) {
        const part = records.slice(i, i + 200);
        await tx
          .insertInto('requests')
          .values(part.map((r) => r.request))
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
        const calls = part.flatMap((r) => r.calls);
        if (calls.length)
          await tx
            .insertInto('calls')
            .values(calls)
            .onConflict((oc) => oc.columns(['request_id', 'attempt']).doNothing())
            .execute();
        const texts = part.flatMap((r) => (r.text ? [r.text] : []));
        if (texts.length)
          await tx
            .insertInto('prompts')
            .values(texts)
            .onConflict((oc) => oc.column('request_id').doNothing())
            .execute();
      }
    });
  }

  /** Records feedback; one per (request, source): a second one replaces the first. */
  async feedback(f: FeedbackTable): Promise<void> {
    await this.db
      .insertInto('feedback')
      .values(f)
      .onConflict((oc) =>
        oc
          .columns(['request_id', 'source'])
          .doUpdateSet({ score: f.score, comment: f.comment, ts: f.ts, key_id: f.key_id }),
      )
      .execute();
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

  /** Per model × task over the window: volume, errors, cost, latency, and rated quality with its interval. */
  async stats(q: StatsQuery = {}): Promise<StatsRow[]> {
    const since = q.since ?? Date.now() - 7 * 86_400_000;
    let base = this.db.selectFrom('requests').where('requests.ts', '>=', since).where('requests.model', 'is not', null);
    if (q.model) base = base.where('requests.model', '=', q.model);
    if (q.task) base = base.where('requests.task', '=', q.task);
    if (q.keyId) base = base.where('requests.key_id', '=', q.keyId);
    const volume = await base
      .select((eb) => [
        'model',
        'task',
        eb.fn.countAll<number>().as('requests'),
        eb.fn.sum<number>(eb.case().when('status', '=', 'error').then(1).else(0).end()).as('errors'),
        eb.fn.sum<number>('cost').as('cost'),
        eb.fn.avg<number>('latency_ms').as('latency'),
        eb.fn.sum<number>('prompt_tokens').as('pt'),
        eb.fn.sum<number>('completion_tokens').as('ct'),
      ])
      .groupBy(['model', 'task'])
      .execute();
    const rated = await base
      .innerJoin('feedback', 'feedback.request_id', 'requests.id')
      .select((eb) => [
        'model',
        'task',
        eb.fn.countAll<number>().as('n'),
        eb.fn.avg<number>('feedback.score').as('mean'),
        eb.fn.avg<number>(eb('feedback.score', '*', eb.ref('feedback.score'))).as('sq'),
      ])
      .groupBy(['model', 'task'])
      .execute();
    const key = (m: string | null, t: string | null) => `${m}\u0000${t}`;
    const ratings = new Map(rated.map((r) => [key(r.model, r.task), r]));
    return volume.map((v) => {
      const n = Number(v.requests);
      const r = ratings.get(key(v.model, v.task));
      const rn = r ? Number(r.n) : 0;
      let quality: StatsRow['quality'] = null;
      if (r && rn > 0) {
        const mean = Number(r.mean);
        const variance = Math.max(0, Number(r.sq) - mean * mean) * (rn > 1 ? rn / (rn - 1) : 0);
        const half = rn > 1 ? 1.96 * Math.sqrt(variance / rn) : 1;
        quality = { mean, low: Math.max(0, mean - half), high: Math.min(1, mean + half) };
      }
      return {
        model: v.model!,
        task: v.task ?? '*',
        requests: n,
        errors: Number(v.errors),
        errorRate: n ? Number(v.errors) / n : 0,
        cost: Number(v.cost ?? 0),
        costPerRequest: n ? Number(v.cost ?? 0) / n : 0,
        meanLatencyMs: Number(v.latency ?? 0),
        promptTokens: Number(v.pt ?? 0),
        completionTokens: Number(v.ct ?? 0),
        rated: rn,
        quality,
      };
    });
  }

  /** Spend per API key over the window. */
  async spend(since = Date.now() - 7 * 86_400_000): Promise<SpendRow[]> {
    const rows = await this.db
      .selectFrom('requests')
      .where('ts', '>=', since)
      .select((eb) => ['key_id', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('cost').as('cost')])
      .groupBy('key_id')
      .execute();
    return rows.map((r) => ({ keyId: r.key_id, requests: Number(r.n), cost: Number(r.cost ?? 0) }));
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
