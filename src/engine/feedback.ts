/**
 * Feedback by request id: a score (0–1), a rating (1–5) or thumbs, from a source (user, judge,
 * reward, test), stored once per (request, source) and — when the request's prompt is known (a
 * recent request, or `store.prompts: full`) — taught to the router, whose learned point is stored
 * so the learning survives restarts and reloads.
 */
import { ArbiterError, ErrorCodes, fail } from '../errors.js';
import { isTaskName } from '../names.js';
import type { LearnedPoint, Router } from '../router/index.js';
import type { OutcomeStore, Profiles } from '../store/index.js';
import type { RecentRequests } from './recent.js';

export const FEEDBACK_SOURCES = ['user', 'judge', 'reward', 'test'] as const;
export type FeedbackSource = (typeof FEEDBACK_SOURCES)[number];

export interface Rating {
  /** 0..1 */
  score?: number;
  /** 1..5 (mapped to 0, 0.25, … 1) */
  rating?: number;
  /** up = 1, down = 0 */
  thumbs?: 'up' | 'down';
  source?: FeedbackSource;
  comment?: string;
}

export interface RateResult {
  requestId: string;
  score: number;
  source: FeedbackSource;
  /** Whether the router learned from it (it needs the request's prompt: recent, or stored in full). */
  learned: boolean;
}

/** The score a rating stands for, or a typed error naming the field. */
export function scoreOf(r: Rating): number {
  const given = (['score', 'rating', 'thumbs'] as const).filter((k) => r[k] !== undefined);
  if (given.length !== 1)
    fail(given.length ? given[1]! : 'score', 'give exactly one of score (0-1), rating (1-5) or thumbs (up/down)');
  if (r.score !== undefined)
    return typeof r.score === 'number' && r.score >= 0 && r.score <= 1
      ? r.score
      : fail('score', `must be a number in [0, 1], got ${String(r.score)}`);
  if (r.rating !== undefined)
    return Number.isInteger(r.rating) && r.rating >= 1 && r.rating <= 5
      ? (r.rating - 1) / 4
      : fail('rating', `must be an integer from 1 to 5, got ${String(r.rating)}`);
  return r.thumbs === 'up'
    ? 1
    : r.thumbs === 'down'
      ? 0
      : fail('thumbs', `must be up or down, got ${String(r.thumbs)}`);
}

/** A learned point as the store keeps it. */
export function pointRow(p: LearnedPoint, embedder: string) {
  return {
    ts: Date.now(),
    model: p.model,
    quality: p.quality,
    task: p.task ?? null,
    embedding: Buffer.from(p.embedding.buffer, p.embedding.byteOffset, p.embedding.byteLength),
    cap_task: p.capability?.task ?? null,
    cap_x1: p.capability?.x1 ?? null,
    cap_x2: p.capability?.x2 ?? null,
    embedder,
  };
}

/** A stored learned point, back as the router takes it. */
export function pointFrom(r: {
  model: string;
  quality: number;
  task: string | null;
  embedding: Uint8Array;
  cap_task: string | null;
  cap_x1: number | null;
  cap_x2: number | null;
}): LearnedPoint {
  const bytes = Uint8Array.from(r.embedding); // an aligned copy
  return {
    embedding: new Float32Array(bytes.buffer, 0, bytes.byteLength / 4),
    model: r.model,
    quality: Number(r.quality),
    ...(r.task ? { task: r.task } : {}),
    ...(r.cap_task !== null && r.cap_x1 !== null && r.cap_x2 !== null
      ? { capability: { task: r.cap_task, x1: Number(r.cap_x1), x2: Number(r.cap_x2) } }
      : {}),
  };
}

export interface RateContext {
  router: Router;
  store: OutcomeStore | undefined;
  recent: Pick<RecentRequests, 'get'>;
  /** (request, source) pairs already learned from in this process. */
  learnedFrom: Set<string>;
  profiles: Profiles;
}

/** The key under which a (request, rating source) pair is marked as learned from. */
const learnedKey = (requestId: string, source: string) => `${requestId}\u0000${source}`;

/** Rates a request: admin keys any, a client key only its own. */
export async function rate(
  c: RateContext,
  requestId: string,
  r: Rating,
  who: { keyId?: string; admin?: boolean },
): Promise<RateResult> {
  if (typeof requestId !== 'string' || !requestId || requestId.length > 128) fail('request_id', 'must be a request id');
  const score = scoreOf(r);
  const source = r.source ?? 'user';
  if (!(FEEDBACK_SOURCES as readonly string[]).includes(source))
    fail('source', `must be one of ${FEEDBACK_SOURCES.join(', ')}`);
  if (r.comment !== undefined && (typeof r.comment !== 'string' || r.comment.length > 2000))
    fail('comment', 'must be a string of at most 2000 characters');
  const recent = c.recent.get(requestId);
  // the request's row must be written before its rating (a recent one may still be queued)
  const row = await c.store?.find(requestId);
  if (!recent && !row)
    throw new ArbiterError(
      ErrorCodes.NOT_FOUND,
      `no request ${requestId}${c.store ? '' : ' in memory (no store is configured)'}`,
      { param: 'request_id' },
    );
  const owner = recent ? recent.keyId : (row!.key_id ?? undefined);
  if (!who.admin && owner !== who.keyId)
    throw new ArbiterError(ErrorCodes.FORBIDDEN, 'a client key may rate only its own requests', {
      param: 'request_id',
    });
  await c.store?.feedback({
    request_id: requestId,
    source,
    score,
    comment: r.comment ?? null,
    ts: Date.now(),
    key_id: who.keyId ?? null,
  });
  const model = recent?.model ?? row?.model ?? undefined;
  const task = recent?.task ?? row?.task ?? undefined;
  if (model) c.profiles.rate(model, task, score);
  const once = learnedKey(requestId, source);
  const first = !c.learnedFrom.has(once); // a rating that replaces one teaches nothing twice
  // the rating against the quality predicted for the model that answered (when it was the router's pick)
  const predicted =
    recent?.predicted ?? (row && row.model === row.decision_model ? (row.predicted_quality ?? undefined) : undefined);
  if (first && model && task && predicted !== undefined && c.router.registry.has(model)) {
    c.router.drift.observe(model, task, score, Number(predicted));
    c.learnedFrom.add(once);
  }
  const prompt =
    recent?.prompt ?? (c.store?.prompts === 'full' ? (await c.store.request(requestId))?.prompt : undefined);
  let learned = false;
  if (model && prompt !== undefined && c.router.registry.has(model) && first) {
    const { point } = await c.router.feedback({
      prompt,
      model,
      quality: score,
      ...(task && isTaskName(task) ? { task } : {}),
    });
    await c.store?.sql.addLearned(pointRow(point, c.router.embedderId));
    c.learnedFrom.add(once);
    learned = true;
  }
  return { requestId, score, source, learned };
}

/** Drops what was learned from a request (it is forgotten: a later rating of it teaches again). */
export function forgetLearned(learnedFrom: Set<string>, requestId: string): void {
  if (learnedFrom.size === 0) return; // nothing rated yet: no keys to build
  for (const s of FEEDBACK_SOURCES) learnedFrom.delete(learnedKey(requestId, s));
}
