import { readFile } from 'node:fs/promises';

import { parse } from 'csv-parse/sync';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { distill } from '../learn/index.js';
import { unwrapPythonList } from '../text.js';

async function promptsFrom(files: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    let rows: Array<Record<string, string>>;
    try {
      rows = parse(await readFile(file), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
    } catch (e) {
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${file}: ${(e as Error).message}`, { param: 'eval' });
    }
    for (const [i, r] of rows.entries()) {
      if (typeof r.prompt !== 'string')
        throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${file}: row ${i + 2} has no 'prompt' column`, {
          param: 'eval',
        });
      out.push(unwrapPythonList(r.prompt));
    }
  }
  return out;
}

/** `arbiter distill --out models/default [--dim 256] [--drop 1] [--note text] [--eval file.csv ...]` */
export async function distillCommand(options: {
  out: string;
  dim: string;
  drop: string;
  note?: string;
  eval?: string[];
}): Promise<void> {
  const dim = Number(options.dim);
  const drop = Number(options.drop);
  if (!Number.isInteger(dim) || dim < 8 || dim > 512)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--dim must be an integer from 8 to 512, got ${options.dim}`, {
      param: 'dim',
    });
  if (!Number.isInteger(drop) || drop < 0 || dim + drop > 512)
    throw new ArbiterError(
      ErrorCodes.INVALID_ARGUMENT,
      `--drop must be an integer >= 0 with dim + drop <= 512, got ${options.drop}`,
      { param: 'drop' },
    );
  const evalTexts = options.eval?.length ? await promptsFrom(options.eval) : undefined;
  const m = await distill({
    out: options.out,
    dim,
    drop,
    ...(options.note ? { note: options.note } : {}),
    ...(evalTexts ? { evalTexts, evalSource: options.eval!.join(', ') } : {}),
    log: (msg) => process.stderr.write(`distill: ${msg}\n`),
  });
  process.stdout.write(
    `${JSON.stringify({ out: options.out, dim: m.dim, files: m.files.map((f) => f.path), produced: m.produced, evaluation: m.evaluation }, null, 2)}\n`,
  );
}
