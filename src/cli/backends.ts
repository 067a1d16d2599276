import Table from 'cli-table3';

import { loadReport, probeBackends, selectBackend } from '../compute/index.js';
import { tableStyle } from './table-style.js';

/** `arbiter backends [--json]`: every backend, available or not (with the reason), and its probe throughput. */
export async function backendsCommand(options: { json?: boolean }): Promise<void> {
  const selection = await selectBackend();
  // the selection stops at the first correct backend: every one is probed for the listing
  const statuses = await probeBackends();
  const chosen = selection.backend.name;
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ selected: chosen, selectedBy: selection.reason, backends: statuses, addon: loadReport() }, null, 2)}\n`,
    );
    return;
  }
  const table = new Table({ ...tableStyle(), head: ['backend', 'available', 'probe queries/s', 'detail / reason'] });
  for (const s of statuses) {
    table.push([
      s.name + (s.name === chosen ? ' *' : ''),
      s.available ? 'yes' : 'no',
      s.probe ? Math.round(s.probe.queriesPerSec).toLocaleString('en-US') : '-',
      (s.available ? (s.detail ?? '') : (s.reason ?? '')).slice(0, 100),
    ]);
  }
  process.stdout.write(
    `${table.toString()}\n* selected (${selection.reason === 'env' ? 'ARBITER_BACKEND' : 'fastest correct probe'})\n`,
  );
}
