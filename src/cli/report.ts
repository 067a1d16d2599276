/**
 * `arbiter report --since 7d --out report.html`: the dashboard's views (traffic, latency, cost,
 * quality, experiments, comparisons, the latest requests with their pages) over a window, as one
 * self-contained HTML file — the page's script, styles and data inline, nothing fetched.
 */
import { writeFile } from 'node:fs/promises';

import { loadConfig } from '../config/index.js';
import { openConfiguredStore } from '../engine/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { Experiments } from '../experiments/index.js';
import { buildSnapshot, reportHtml } from '../server/index.js';
import { parseSince } from './store.js';

export async function reportCommand(o: {
  config: string;
  since?: string;
  until?: string;
  out: string;
  requests?: string;
}): Promise<void> {
  const since = parseSince(o.since, Date.now() - 7 * 86_400_000);
  const until = parseSince(o.until, Date.now());
  if (!(since < until))
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, '--since must be before --until', { param: 'since' });
  const requests = Number(o.requests ?? 100);
  if (!Number.isInteger(requests) || requests < 0 || requests > 1000)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--requests must be 0..1000, got ${o.requests}`, {
      param: 'requests',
    });
  const cfg = await loadConfig(o.config);
  const store = await openConfiguredStore(cfg, true);
  if (!store)
    throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `${o.config}: store.url is none: nothing is recorded`, {
      param: 'store.url',
    });
  try {
    const experiments = cfg.experiments.length ? await Experiments.load(cfg.experiments, store) : undefined;
    const snapshot = await buildSnapshot({
      store: store.sql,
      models: cfg.models,
      since,
      until,
      requests,
      ...(experiments ? { experiments } : {}),
    });
    await writeFile(o.out, reportHtml(snapshot));
    const t = snapshot.overview.totals;
    process.stdout.write(
      `report: ${o.out} — ${new Date(since).toISOString()} to ${new Date(until).toISOString()}, ${t.requests} requests, $${t.cost.toFixed(4)} spent, ${snapshot.requests.length} requests listed\n`,
    );
  } finally {
    await store.close();
  }
}
