/**
 * The learning loop end to end, in real time: two models, `a` (configured 0.85) and `b` (0.80),
 * at equal prices under the quality strategy; requests at BENCH_SHIFT_RATE per second (default 20)
 * through the engine, every answer rated (source test) as a Bernoulli draw of its model's true
 * quality — a 0.85, b 0.80 — recorded to SQLite; routing.explore BENCH_SHIFT_EXPLORE (default 0.05). After BENCH_SHIFT_WARM seconds (default 60) a's
 * true quality drops by 10 points, to 0.75, for BENCH_SHIFT_AFTER seconds (default 90).
 * Reported: a's share of the traffic per 5 s, the seconds (and a's ratings) from the drop until
 * a's share falls below one half, and the ratings until a's profile interval excludes its old mean.
 *   npm run bench -- store-shift
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { selectBackend } from '../src/compute/index.js';
import { createArbiter } from '../src/index.js';
import { inWorker as startWorker } from './lib/workers.js';
import { printTable, writeResults, type ResultRow } from './lib/common.js';

const RATE = Number(process.env.BENCH_SHIFT_RATE ?? 20);
const WARM = Number(process.env.BENCH_SHIFT_WARM ?? 60);
const AFTER = Number(process.env.BENCH_SHIFT_AFTER ?? 90);
const EXPLORE = Number(process.env.BENCH_SHIFT_EXPLORE ?? 0.05);
const TRIALS = Number(process.env.BENCH_SHIFT_TRIALS ?? 3);
const TRUE = { a: 0.85, b: 0.8 };

const port = await startWorker<number>(new URL('./lib/load-worker.js', import.meta.url), { mode: 'upstream' });
const { backend } = await selectBackend();
const model = (id: string, q: number) => ({
  id,
  provider: { kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` },
  cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
  strengths: { general: q },
  maxConcurrent: 256,
});
const SUBJECTS = ['linked lists', 'binary search', 'photosynthesis', 'the French revolution', 'compound interest'];
const FORMS = [
  (s: string) => `Explain ${s} to a new colleague.`,
  (s: string) => `Write a short Python function related to ${s}.`,
  (s: string) => `What are three common mistakes people make with ${s}?`,
  (s: string) => `Summarise ${s} in two sentences.`,
];

interface Trial {
  requests: number;
  shareBefore: number;
  shiftS: number | null;
  shareLate: number;
  flaggedAfterRatings: number | null;
  windows: Array<{ from: number; share: number }>;
  drift: unknown;
}

async function trial(): Promise<Trial> {
  const arbiter = await createArbiter(
    {
      models: [model('a', TRUE.a), model('b', TRUE.b)],
      routing: { strategy: 'quality', explore: EXPLORE },
      store: { url: `sqlite:${join(mkdtempSync(join(tmpdir(), 'arbiter-shift-')), 'shift.db')}` },
    },
    { backend },
  );
  let seq = 0;
  const prompt = () => {
    const i = seq++;
    return `${FORMS[i % FORMS.length]!(SUBJECTS[Math.floor(i / FORMS.length) % SUBJECTS.length]!)} (#${i % 97})`;
  };
  const perSecond: Array<{ a: number; b: number }> = [];
  let dropped = false;
  let flaggedAfter: number | undefined; // a's ratings after the drop when its interval excluded 0.85
  let aRatedAfterDrop = 0;
  const t0 = performance.now();
  const end = WARM + AFTER;
  while ((performance.now() - t0) / 1000 < end) {
    const sec = Math.floor((performance.now() - t0) / 1000);
    if (!dropped && sec >= WARM) dropped = true;
    const tick = performance.now();
    const answers = await Promise.all(
      Array.from({ length: Math.max(1, Math.round(RATE / 10)) }, async () => {
        const r = await arbiter.complete({ model: 'auto', messages: [{ role: 'user', content: prompt() }] });
        const truth = r.model === 'a' ? (dropped ? TRUE.a - 0.1 : TRUE.a) : TRUE.b;
        await arbiter.rate(r.id, { score: Math.random() < truth ? 1 : 0, source: 'test' });
        return r.model;
      }),
    );
    for (const m of answers) {
      (perSecond[sec] ??= { a: 0, b: 0 })[m as 'a' | 'b']++;
      if (dropped && m === 'a') aRatedAfterDrop++;
    }
    if (dropped && flaggedAfter === undefined) {
      const q = arbiter.profiles.quality('a');
      if (q && q.high < TRUE.a) flaggedAfter = aRatedAfterDrop;
    }
    await new Promise((ok) => setTimeout(ok, Math.max(0, 100 - (performance.now() - tick))));
  }
  // a's share per 5 s window; the shift: the first window after the drop where it is below one half
  const windows: Array<{ from: number; share: number }> = [];
  for (let s = 0; s < perSecond.length; s += 5) {
    const w = perSecond.slice(s, s + 5).filter(Boolean);
    const a = w.reduce((n, x) => n + x.a, 0);
    const all = w.reduce((n, x) => n + x.a + x.b, 0);
    windows.push({ from: s, share: all ? a / all : 0 });
  }
  const before = windows.filter((w) => w.from < WARM);
  const shift = windows.find((w) => w.from >= WARM && w.share < 0.5);
  const after = windows.filter((w) => w.from >= WARM + 30);
  const result = {
    requests: seq,
    shareBefore: before.reduce((s, w) => s + w.share, 0) / before.length,
    shiftS: shift ? shift.from + 5 - WARM : null, // the end of the first window below one half
    shareLate: after.reduce((s, w) => s + w.share, 0) / Math.max(1, after.length),
    flaggedAfterRatings: flaggedAfter ?? null,
    windows,
    drift: arbiter.router.drift.snapshot(),
  };
  await arbiter.close();
  return result;
}

const trials: Trial[] = [];
for (let t = 0; t < TRIALS; t++) {
  trials.push(await trial());
  const x = trials.at(-1)!;
  process.stdout.write(
    `trial ${t + 1}: a's share ${(100 * x.shareBefore).toFixed(0)}% before, below 50% ${x.shiftS ?? '—'} s after the drop, ${(100 * x.shareLate).toFixed(0)}% late; flagged after ${x.flaggedAfterRatings ?? '—'} ratings\n`,
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const shifts = trials.map((t) => t.shiftS ?? Infinity);
const shareBefore = median(trials.map((t) => t.shareBefore));
const shareLate = median(trials.map((t) => t.shareLate));
const shiftS = median(shifts);
const flagged = median(trials.map((t) => t.flaggedAfterRatings ?? Infinity));
const seq = trials.reduce((n, t) => n + t.requests, 0);
const end = (WARM + AFTER) * TRIALS;

const fmt = (x: number) => (Number.isFinite(x) ? String(x) : '—');
const rows: ResultRow[] = [
  {
    name: `a's quality drops 0.85 → 0.75 at ${WARM} s; ${RATE} rated req/s; ${TRIALS} trials`,
    kind: 'backend',
    Q: seq,
    medianMs: 0,
    qps: seq / end,
    note: `medians: a's share ${(100 * shareBefore).toFixed(0)}% before; below 50% by ${fmt(shiftS)} s after the drop (trials: ${shifts.map(fmt).join(', ')}); ${(100 * shareLate).toFixed(0)}% from 30 s after; profile flagged a after ${fmt(flagged)} of its ratings`,
  },
];
printTable('learning loop: a model gets worse', rows, 'requests/s');
const summary = {
  rate: RATE,
  warmS: WARM,
  afterS: AFTER,
  trials: trials.map(({ windows, ...t }) => ({ ...t, shares: windows.map((w) => Math.round(100 * w.share) / 100) })),
  shareBefore,
  shiftS: Number.isFinite(shiftS) ? shiftS : null,
  shiftsS: shifts.map((x) => (Number.isFinite(x) ? x : null)),
  shareLate,
  flaggedAfterRatings: Number.isFinite(flagged) ? flagged : null,
};
process.stdout.write(`summary: ${JSON.stringify({ ...summary, trials: undefined })}\n`);
process.stdout.write(
  `wrote ${writeResults('store-shift', { shape: { rate: RATE, warmS: WARM, afterS: AFTER, explore: EXPLORE, trials: TRIALS }, results: rows, summary })}\n`,
);
process.exit(0);
