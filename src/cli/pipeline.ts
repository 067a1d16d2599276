/**
 * `arbiter pipeline run <id> --input "…" [--config c.yaml] [--json]`: runs a pipeline once, as the
 * gateway would, and prints its output and a table of its phases (model, status, tokens, cost,
 * latency) — or the whole run as JSON. `arbiter pipeline list`: the config's pipelines.
 */
import Table from 'cli-table3';

import { loadConfig } from '../config/index.js';
import { createArbiter } from '../engine/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { tableStyle } from './table-style.js';

export async function pipelineListCommand(o: { config: string; json?: boolean }): Promise<void> {
  const cfg = await loadConfig(o.config);
  const rows = cfg.pipelines.map((p) => ({
    id: p.id,
    phases: p.phases.map((q) => q.name),
    description: p.description ?? '',
  }));
  if (o.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  const t = new Table({ ...tableStyle(), head: ['pipeline', 'phases', 'what'] });
  for (const r of rows) t.push([r.id, r.phases.join(' → '), r.description]);
  process.stdout.write(`${t.toString()}\n`);
}

export async function pipelineRunCommand(
  id: string,
  o: { config: string; input?: string; json?: boolean },
): Promise<void> {
  if (!o.input)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, '--input is required (the prompt the pipeline answers)', {
      param: 'input',
    });
  const engine = await createArbiter(o.config);
  try {
    const run = await engine.runPipeline(id, { messages: [{ role: 'user', content: o.input }] });
    if (o.json) return void process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
    const t = new Table({
      ...tableStyle(),
      head: ['phase', 'model', 'status', 'tokens in/out', 'cost $', 'ms', 'note'],
    });
    for (const p of run.phases)
      t.push([
        p.pass > 1 ? `${p.name} #${p.pass}` : p.name,
        p.model ?? '',
        p.status,
        `${p.promptTokens}/${p.completionTokens}`,
        p.cost.toPrecision(3),
        p.latencyMs.toFixed(0),
        p.cached ? 'cached' : (p.reason ?? ''),
      ]);
    process.stdout.write(
      `${run.output}\n\n${t.toString()}\n${run.phasesSucceeded}/${run.phasesRun} phases succeeded; ` +
        `${run.promptTokens + run.completionTokens} tokens, $${run.cost.toPrecision(3)}, ${run.timeMs.toFixed(0)} ms\n`,
    );
  } finally {
    await engine.close();
  }
}
