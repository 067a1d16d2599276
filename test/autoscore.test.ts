/**
 * Automatic scoring (store.autoScore): a share of answers scored after they went out by an LLM
 * judge (a local upstream speaking the chat API), recorded as feedback with the judge's cost as a
 * request of kind `score`; a failing judge is counted and changes nothing; an unknown reward is
 * refused at start.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StaticEmbedder } from '../src/embed/index.js';
import { ErrorCodes } from '../src/errors.js';
import { createArbiter } from '../src/index.js';
import { defaultModelDir } from '../src/paths.js';
import { availableBackends, sendCompletion, startUpstream } from './helpers.js';

let baseUrl: string;
let closeUpstream: () => Promise<void>;
let judged = 0;
beforeAll(async () => {
  ({ baseUrl, close: closeUpstream } = await startUpstream(({ model }, _req, res) => {
    if (model === 'broken-judge') return void res.writeHead(500).end('{}');
    if (model.endsWith('judge')) judged++;
    sendCompletion(res, model, model.endsWith('judge') ? 'Correct.\nScore: 8/10' : 'Paris.', {
      prompt_tokens: 60,
      completion_tokens: 6,
    });
  }));
});
afterAll(() => closeUpstream());

const backend = availableBackends()[0]!;
const model = (id: string, price: number) => ({
  id,
  provider: { kind: 'openai', baseUrl, retries: 0 },
  cost: { inputPer1k: price, outputPer1k: price },
  strengths: { general: id === 'answerer' ? 0.9 : 0.1 },
});
async function make(judge: string, share: number, reward = 'judge') {
  const dir = await mkdtemp(join(tmpdir(), 'arbiter-autoscore-'));
  return createArbiter(
    {
      models: [model('answerer', 0.001), model(judge, 0.01)],
      routing: { strategy: 'quality' },
      rewards: { judge: { model: judge } },
      store: { url: `sqlite:${join(dir, 'a.db')}`, flushMs: 20, autoScore: { share, reward } },
    },
    { backend, embedder: await StaticEmbedder.load(defaultModelDir(), backend) },
  );
}
const ask = (a: Awaited<ReturnType<typeof make>>, i: number) =>
  a.complete({ model: 'auto', messages: [{ role: 'user', content: `What is the capital of France? (${i})` }] });

describe('automatic scoring', () => {
  it('scores answers with the judge after they went out, records the score as feedback and the judge cost', async () => {
    const a = await make('judge', 1);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await ask(a, i)).id);
    await a.autoScore!.drain();
    expect(a.autoScore!.status).toMatchObject({ scored: 5, failed: 0, skipped: 0 });
    for (const id of ids) {
      const r = (await a.request(id))!;
      expect(r.model).toBe('answerer');
      expect(r.feedback.map((f) => [f.source, f.score])).toEqual([['judge', 0.8]]);
    }
    await a.store!.flush();
    const scoring = await a.store!.sql.db.selectFrom('requests').selectAll().where('kind', '=', 'score').execute();
    expect(scoring).toHaveLength(5); // the judge's own calls are not scored again
    for (const s of scoring) {
      expect(s.model).toBe('judge');
      expect(s.cost).toBeCloseTo((66 * 0.01) / 1000, 12);
    }
    const stats = await a.stats({ model: 'answerer' });
    expect(stats.models.reduce((n, m) => n + m.rated, 0)).toBe(5);
    await a.close();
  });

  it('share 0 scores nothing; a failing judge is counted and leaves the request unrated', async () => {
    const before = judged;
    const none = await make('judge', 0);
    for (let i = 0; i < 5; i++) await ask(none, i);
    await none.autoScore!.drain();
    expect(none.autoScore!.status.scored).toBe(0);
    expect(judged).toBe(before);
    await none.close();
    const broken = await make('broken-judge', 1);
    const r = await ask(broken, 0);
    await broken.autoScore!.drain();
    expect(broken.autoScore!.status).toMatchObject({ scored: 0, failed: 1 });
    expect((await broken.request(r.id))!.feedback).toEqual([]);
    await broken.close();
  });

  it('refuses a reward that is not configured', async () => {
    await expect(make('judge', 1, 'head')).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
      param: 'store.autoScore.reward',
    });
  });
});
