/**
 * The outcome store from the command line: `arbiter stats` (per model × task, with intervals),
 * `arbiter export` (rated requests as training JSONL, so `arbiter train --format jsonl` retrains
 * from production), `arbiter store migrate` and `arbiter store purge`.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

import Table from 'cli-table3';

import { loadConfig } from '../config/index.js';
import { openConfiguredStore } from '../engine/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { OutcomeStore } from '../store/index.js';
import { write } from './jsonl.js';
import { tableStyle } from './table-style.js';

/** `7d`, `12h`, `30m`, epoch milliseconds or an ISO date, as epoch milliseconds. */
export function parseSince(v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const rel = /^(\d+)([dhm])$/.exec(v);
  if (rel) return Date.now() - Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm'];
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t))
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `--since must be like 7d, 12h, epoch milliseconds or an ISO date, got ${v}`,
      { param: 'since' },
    );
  return t;
}

async function withStore<T>(configPath: string, f: (s: OutcomeStore) => Promise<T>): Promise<T> {
  const cfg = await loadConfig(configPath);
  const store = await openConfiguredStore(cfg, true);
  if (!store)
    throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `${configPath}: store.url is none: nothing is recorded`, {
      param: 'store.url',
    });
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

export async function statsCommand(o: {
  config: string;
  since?: string;
  model?: string;
  task?: string;
  json?: boolean;
}): Promise<void> {
  const since = parseSince(o.since, Date.now() - 7 * 86_400_000);
  await withStore(o.config, async (s) => {
    const [models, spend] = await Promise.all([
      s.stats({ since, ...(o.model ? { model: o.model } : {}), ...(o.task ? { task: o.task } : {}) }),
      s.spend(since),
    ]);
    if (o.json) return void process.stdout.write(`${JSON.stringify({ since, models, spend }, null, 2)}\n`);
    const t = new Table({
      ...tableStyle(),
      head: ['model', 'task', 'requests', 'error rate', 'cost $', '$/request', 'mean ms', 'rated', 'quality (95% CI)'],
    });
    for (const r of models.sort((a, b) => a.model.localeCompare(b.model) || a.task.localeCompare(b.task)))
      t.push([
        r.model,
        r.task,
        r.requests,
        `${(100 * r.errorRate).toFixed(1)}%`,
        r.cost.toFixed(4),
        r.costPerRequest.toExponential(2),
        r.meanLatencyMs.toFixed(1),
        r.rated,
        r.quality ? `${r.quality.mean.toFixed(3)} (${r.quality.low.toFixed(3)}–${r.quality.high.toFixed(3)})` : '-',
      ]);
    process.stdout.write(`since ${new Date(since).toISOString()}\n${t.toString()}\n`);
  });
}

export async function exportCommand(o: { config: string; since?: string; out?: string }): Promise<void> {
  const since = parseSince(o.since, 0);
  await withStore(o.config, async (s) => {
    const out: Writable = !o.out || o.out === '-' ? process.stdout : createWriteStream(o.out);
    let written = 0;
    let withoutText = 0;
    for await (const r of s.sql.rated(since)) {
      if (r.prompt === null) {
        withoutText++;
        continue;
      }
      await write(
        out,
        `${JSON.stringify({ prompt: r.prompt, ...(r.task ? { task: r.task } : {}), outcomes: { [r.model]: r.score }, costs: { [r.model]: r.cost }, id: r.id })}\n`,
      );
      written++;
    }
    if (out !== process.stdout) await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
    process.stderr.write(
      `arbiter export: ${written} rated requests${withoutText ? `; ${withoutText} skipped: their text was not kept (store.prompts: full keeps it)` : ''}\n`,
    );
  });
}

export async function storeMigrateCommand(o: { config: string }): Promise<void> {
  await withStore(o.config, async (s) => {
    process.stderr.write(`arbiter store migrate: ${s.sql.dialect} store at schema version ${await s.sql.version()}\n`);
  });
}

export async function storePurgeCommand(o: { config: string; olderThan?: string }): Promise<void> {
  const cfg = await loadConfig(o.config);
  const days = o.olderThan === undefined ? cfg.store?.retentionDays : Number(/^(\d+)d?$/.exec(o.olderThan)?.[1]);
  if (!days || !(days > 0))
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      '--older-than must be a number of days (e.g. 30d), or set store.retentionDays',
      { param: 'older-than' },
    );
  await withStore(o.config, async (s) => {
    await s.flush();
    const n = await s.sql.purge(Date.now() - days * 86_400_000);
    process.stderr.write(`arbiter store purge: deleted ${n} requests older than ${days} days\n`);
  });
}
