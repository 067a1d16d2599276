/** What experiments read and keep in the store: an experiment's per-arm aggregates, and states in arbiter_meta. */
import { sql, type Kysely } from 'kysely';

import type { Database } from './schema.js';

/** An experiment arm's aggregates (SqlStore.experimentArms). */
export interface ExperimentArmRow {
  arm: string;
  n: number;
  errors: number;
  cost: number;
  costSq: number;
  latency: number;
  latencySq: number;
  rated: number;
  score: number;
  scoreSq: number;
}

/**
 * An experiment's per-arm aggregates (per hour too, when asked): requests and errors, cost and
 * latency sums and sums of squares, and the rated requests' score count, sum and sum of squares
 * (one rating per request: their mean).
 */
async function aggregate(db: Kysely<Database>, experiment: string, since: number, byHour: boolean, source: string) {
  const rated = db
    .selectFrom('feedback')
    .$if(source !== 'any', (q) => q.where('source', '=', source))
    .select((eb) => ['request_id', eb.fn.avg<number>('score').as('score')])
    .groupBy('request_id')
    .as('f');
  const hour = sql<number>`(requests.ts / 3600000) * 3600000`;
  const rows = await db
    .selectFrom('requests')
    .leftJoin(rated, 'f.request_id', 'requests.id')
    .where('requests.experiment', '=', experiment)
    .where('requests.ts', '>=', since)
    .select((eb) => [
      'requests.arm',
      eb.fn.countAll<number>().as('n'),
      eb.fn.sum<number>(eb.case().when('requests.status', '=', 'error').then(1).else(0).end()).as('errors'),
      eb.fn.sum<number>('requests.cost').as('cost'),
      eb.fn.sum<number>(eb('requests.cost', '*', eb.ref('requests.cost'))).as('cost_sq'),
      eb.fn.sum<number>('requests.latency_ms').as('latency'),
      eb.fn.sum<number>(eb('requests.latency_ms', '*', eb.ref('requests.latency_ms'))).as('latency_sq'),
      eb.fn.count<number>('f.score').as('rated'),
      eb.fn.sum<number>('f.score').as('score'),
      eb.fn.sum<number>(eb('f.score', '*', eb.ref('f.score'))).as('score_sq'),
    ])
    // PostgreSQL selects only what it groups by: the hour only when grouping by it
    .$if(byHour, (q) => q.select(hour.as('hour')).groupBy(hour).orderBy(hour))
    .groupBy('requests.arm')
    .execute();
  return rows.map((r) => ({
    hour: Number(r.hour ?? 0),
    arm: r.arm ?? '',
    n: Number(r.n),
    errors: Number(r.errors ?? 0),
    cost: Number(r.cost ?? 0),
    costSq: Number(r.cost_sq ?? 0),
    latency: Number(r.latency ?? 0),
    latencySq: Number(r.latency_sq ?? 0),
    rated: Number(r.rated ?? 0),
    score: Number(r.score ?? 0),
    scoreSq: Number(r.score_sq ?? 0),
  }));
}

/** An experiment's arms since `since` (epoch ms); quality from feedback of `source` (any: all). */
export async function experimentArms(
  db: Kysely<Database>,
  experiment: string,
  since = 0,
  source = 'any',
): Promise<ExperimentArmRow[]> {
  return (await aggregate(db, experiment, since, false, source)).map(({ hour: _h, ...r }) => r);
}

/**
 * Latencies of an experiment arm's requests at 0-based ranks in ascending order (order statistics:
 * a quantile and its interval), undefined where the rank is past the last request.
 */
export async function armLatencies(
  db: Kysely<Database>,
  experiment: string,
  arm: string,
  ranks: readonly number[],
): Promise<Array<number | undefined>> {
  return Promise.all(
    ranks.map(async (rank) => {
      const r = await db
        .selectFrom('requests')
        .select('latency_ms')
        .where('experiment', '=', experiment)
        .where('arm', '=', arm)
        .orderBy('latency_ms')
        .limit(1)
        .offset(rank)
        .executeTakeFirst();
      return r ? Number(r.latency_ms) : undefined;
    }),
  );
}

/** A value kept in arbiter_meta (experiment states), or undefined. */
export async function getMeta(db: Kysely<Database>, key: string): Promise<string | undefined> {
  const r = await db.selectFrom('arbiter_meta').select('value').where('key', '=', key).executeTakeFirst();
  return r?.value;
}

export async function setMeta(db: Kysely<Database>, key: string, value: string): Promise<void> {
  await db
    .insertInto('arbiter_meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}

/** An experiment's arms hour by hour (the report's metric over time). */
export async function experimentHours(
  db: Kysely<Database>,
  experiment: string,
  source = 'any',
): Promise<Array<ExperimentArmRow & { hour: number }>> {
  return aggregate(db, experiment, 0, true, source);
}
