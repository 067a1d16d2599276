/**
 * `arbiter rerank --in candidates.jsonl [--reward verifier|head:<dir>|onnx:<path>] [--out file]`:
 * offline scoring of candidate responses. Each line: {"prompt": string, "candidates": [string |
 * {"model"?: string, "content": string}], "task"?: string, "id"?: string|number}. Each output line:
 * {id?, scores, best} in input order. Malformed lines are reported with their number and skipped
 * (--strict stops at the first).
 */
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

import { selectBackend } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import { HeadReward, OnnxReward, VerifierReward, type OutcomeReward, type ResponseCandidate } from '../reward/index.js';
import { openInput, parsePromptLine, write } from './jsonl.js';

export interface RerankOptions {
  in: string;
  out?: string;
  reward: string;
  batch: string;
  strict?: boolean;
}

interface Item {
  id?: string | number;
  prompt: string;
  task?: string;
  candidates: ResponseCandidate[];
}

export function parseRerankLine(line: string, lineNo: number): Item | { error: string } {
  const p = parsePromptLine(line, lineNo);
  if ('error' in p) return p;
  const { o } = p;
  if (o.task !== undefined && typeof o.task !== 'string') return { error: `line ${lineNo}: "task" must be a string` };
  if (!Array.isArray(o.candidates) || !o.candidates.length)
    return { error: `line ${lineNo}: "candidates" must be a non-empty array` };
  const cands: ResponseCandidate[] = [];
  for (const [i, c] of o.candidates.entries()) {
    if (typeof c === 'string') cands.push({ model: '', content: c });
    else if (
      typeof c === 'object' &&
      c !== null &&
      typeof (c as { content?: unknown }).content === 'string' &&
      ['string', 'undefined'].includes(typeof (c as { model?: unknown }).model)
    )
      cands.push({ model: (c as { model?: string }).model ?? '', content: (c as { content: string }).content });
    else return { error: `line ${lineNo}: candidates[${i}] must be a string or {"model"?: string, "content": string}` };
  }
  return {
    prompt: p.prompt,
    candidates: cands,
    ...(p.id !== undefined ? { id: p.id } : {}),
    ...(o.task ? { task: o.task as string } : {}),
  };
}

async function loadReward(spec: string): Promise<OutcomeReward> {
  if (spec === 'verifier') return new VerifierReward();
  if (spec.startsWith('head:')) return HeadReward.load(spec.slice(5), (await selectBackend()).backend);
  if (spec.startsWith('onnx:')) return OnnxReward.load(spec.slice(5));
  throw new ArbiterError(
    ErrorCodes.INVALID_ARGUMENT,
    `--reward must be verifier, head:<dir> or onnx:<path>, got ${JSON.stringify(spec)}`,
    { param: 'reward' },
  );
}

export async function rerankCommand(o: RerankOptions): Promise<void> {
  const batch = Number(o.batch);
  if (!Number.isInteger(batch) || batch < 1)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--batch must be a positive integer, got ${o.batch}`, {
      param: 'batch',
    });
  const reward = await loadReward(o.reward);
  const input = await openInput(o.in);
  const out: NodeJS.WritableStream = o.out && o.out !== '-' ? createWriteStream(o.out) : process.stdout;
  const t0 = performance.now();
  let items: Item[] = [];
  let scored = 0;
  let candidates = 0;
  let malformed = 0;
  const flush = async () => {
    const scores =
      reward instanceof HeadReward
        ? await reward.scoreBatch(
            items.map((it) => ({
              prompt: it.prompt,
              candidates: it.candidates,
              ...(it.task ? { ctx: { task: it.task } } : {}),
            })),
          )
        : await Promise.all(
            items.map((it) => reward.score(it.prompt, it.candidates, it.task ? { task: it.task } : {})),
          );
    let text = '';
    items.forEach((it, i) => {
      const s = [...scores[i]!].map((v) => Number(v.toFixed(6)));
      text += `${JSON.stringify({ ...(it.id !== undefined ? { id: it.id } : {}), scores: s, best: s.indexOf(Math.max(...s)) })}\n`;
      candidates += s.length;
    });
    scored += items.length;
    items = [];
    await write(out, text);
  };
  let lineNo = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNo++;
    if (!line.trim()) continue;
    const parsed = parseRerankLine(line, lineNo);
    if ('error' in parsed) {
      malformed++;
      if (o.strict) throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `${parsed.error} (--strict)`, { param: 'in' });
      process.stderr.write(`arbiter rerank: skipped ${parsed.error}\n`);
      continue;
    }
    items.push(parsed);
    if (items.length >= batch) await flush();
  }
  if (items.length) await flush();
  if (out !== process.stdout) await new Promise<void>((r) => out.end(() => r()));
  const secs = (performance.now() - t0) / 1000;
  process.stderr.write(
    `arbiter rerank: scored ${scored} prompts, ${candidates} candidates in ${secs.toFixed(2)} s with ${reward.name}${malformed ? `; ${malformed} malformed line${malformed > 1 ? 's' : ''} skipped` : ''}\n`,
  );
}
