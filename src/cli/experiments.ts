/**
 * `arbiter experiments list | show <id> | report <id> | promote <id> <arm> | stop <id>`: the config's
 * experiments and their states, one's analysis (a table, or --json), promoting an arm or stopping by hand — read from and kept in
 * the config's store, as the gateway does.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import Table from 'cli-table3';

import { loadConfig } from '../config/index.js';
import { openConfiguredStore } from '../engine/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { Experiments } from '../experiments/index.js';
import { tableStyle } from './table-style.js';

async function withExperiments<T>(configPath: string, f: (x: Experiments) => Promise<T>): Promise<T> {
  const cfg = await loadConfig(configPath);
  const store = await openConfiguredStore(cfg, true);
  if (!store)
    throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `${configPath}: experiments need a store (store.url is none)`, {
      param: 'store.url',
    });
  try {
    return await f(await Experiments.load(cfg.experiments, store));
  } finally {
    await store.close();
  }
}

const known = (x: Experiments, id: string) => {
  if (!x.defs.some((d) => d.id === id))
    throw new ArbiterError(
      ErrorCodes.NOT_FOUND,
      `no experiment ${JSON.stringify(id)} (have: ${x.defs.map((d) => d.id).join(', ') || 'none'})`,
      { param: 'id' },
    );
};

export async function experimentsListCommand(o: { config: string; json?: boolean }): Promise<void> {
  await withExperiments(o.config, async (x) => {
    const rows = x.defs.map((d) => ({
      id: d.id,
      metric: d.metric,
      arms: d.arms.map((a) => a.id),
      status: x.state(d.id),
    }));
    if (o.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    const t = new Table({ ...tableStyle(), head: ['experiment', 'metric', 'arms', 'state', 'arm', 'since'] });
    for (const r of rows)
      t.push([
        r.id,
        r.metric,
        r.arms.join(', '),
        r.status!.state,
        r.status!.arm ?? '',
        new Date(r.status!.since).toISOString(),
      ]);
    process.stdout.write(`${t.toString()}\n`);
  });
}

export async function experimentsShowCommand(id: string, o: { config: string; json?: boolean }): Promise<void> {
  await withExperiments(o.config, async (x) => {
    known(x, id);
    const r = (await x.report(id))!;
    if (o.json) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    const t = new Table({
      ...tableStyle(),
      head: ['arm', 'target', 'requests', 'share', 'errors', 'cost', 'latency ms', 'p95 ms', 'rated', 'quality (95%)'],
    });
    for (const a of r.arms)
      t.push([
        a.id,
        a.target,
        a.requests,
        `${(100 * a.share).toFixed(1)}%`,
        `${(100 * a.errorRate).toFixed(1)}%`,
        a.meanCost.toPrecision(3),
        a.meanLatencyMs.toFixed(0),
        a.p95LatencyMs ? a.p95LatencyMs.point.toFixed(0) : '—',
        `${a.rated} (${(100 * a.ratedShare).toFixed(0)}%)`,
        a.quality ? `${a.quality.mean.toFixed(3)} [${a.quality.low.toFixed(3)}, ${a.quality.high.toFixed(3)}]` : '—',
      ]);
    const lines = r.comparisons.map((c) =>
      c.planned
        ? `${c.arm} − control on ${r.metric}: ${c.difference.toFixed(4)}, planned test: z ${c.planned.z.toFixed(2)}, boundary ${c.planned.boundary?.toFixed(2) ?? '— (no look due)'}, ${(100 * c.planned.information).toFixed(0)}% of the planned information, ${c.planned.looks.length} looks`
        : `${c.arm} − control on ${r.metric}: ${c.difference.toFixed(4)} [${c.low.toFixed(4)}, ${c.high.toFixed(4)}], always-valid p ${c.pAdjusted.toPrecision(2)} (fixed-horizon p ${c.pFixed.toPrecision(2)})`,
    );
    process.stdout.write(
      `${t.toString()}\n${lines.join('\n')}\nsample ratio: χ² ${r.srm.chi2.toFixed(2)}, p ${r.srm.p.toPrecision(2)}${r.srm.mismatch ? ' — MISMATCH' : ''}\n` +
        `decision: ${r.decision.state} — ${r.decision.reason}; state: ${r.status.state}${r.status.arm ? ` (${r.status.arm})` : ''}\n`,
    );
  });
}

export async function experimentsPromoteCommand(id: string, arm: string, o: { config: string }): Promise<void> {
  await withExperiments(o.config, async (x) => {
    known(x, id);
    const d = x.defs.find((e) => e.id === id)!;
    if (!d.arms.some((a) => a.id === arm))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `arm must be one of ${d.arms.map((a) => a.id).join(', ')}`, {
        param: 'arm',
      });
    const s = await x.promote(id, arm);
    process.stdout.write(`${id}: ${s.state} (${s.arm}); gateways pick this up on their next start or reload\n`);
  });
}

export async function experimentsStopCommand(id: string, o: { config: string; reason?: string }): Promise<void> {
  await withExperiments(o.config, async (x) => {
    known(x, id);
    const s = await x.stop(id, o.reason);
    process.stdout.write(`${id}: ${s.state} (${s.arm}); gateways pick this up on their next start or reload\n`);
  });
}

export async function experimentsReportCommand(id: string, o: { config: string; out: string }): Promise<void> {
  await withExperiments(o.config, async (x) => {
    known(x, id);
    const r = (await x.writtenReport(id, `${id}.svg`))!;
    await mkdir(o.out, { recursive: true });
    await writeFile(join(o.out, `${id}.md`), r.markdown);
    await writeFile(join(o.out, `${id}.svg`), r.svg);
    process.stdout.write(`wrote ${join(o.out, `${id}.md`)} and ${join(o.out, `${id}.svg`)}\n`);
  });
}
