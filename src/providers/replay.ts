/**
 * The replay provider: answers from recorded outcomes, no model involved — for demos, offline
 * examples and the evaluation harness. Its data is a RouterBench CSV (or a folder of them:
 * `prompt` and `<model>|model_response` columns) or JSONL lines `{"prompt", "responses": {model:
 * text}}`. A request is answered with the recorded response of this model to the same prompt
 * (its last user message, normalised); a prompt it has no record of is ARB_NOT_FOUND.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { parse } from 'csv-parse/sync';

import { ArbiterError, ErrorCodes } from '../errors.js';
import { normalizePrompt, unwrapPythonList } from '../text.js';
import { textOf } from './messages.js';
import { LocalProvider } from './local.js';
import type { ChatRequest } from './types.js';

/** Normalised prompt -> model -> recorded response, shared by every replay model reading the same data. */
export type ReplayStore = Map<string, Map<string, string>>;

const cache = new Map<string, Promise<ReplayStore>>();

async function files(path: string): Promise<string[]> {
  const s = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `replay data ${path}: cannot read (${e.code})`, {
      param: 'provider.data',
    });
  });
  if (!s.isDirectory()) {
    if (!/\.(csv|jsonl)$/.test(path))
      throw new ArbiterError(
        ErrorCodes.INVALID_CONFIG,
        `replay data ${path}: must be a .csv or .jsonl file, or a folder of them`,
        {
          param: 'provider.data',
        },
      );
    return [path];
  }
  return (await readdir(path))
    .filter((n) => /\.(csv|jsonl)$/.test(n))
    .sort()
    .map((n) => join(path, n));
}

export function loadReplayStore(path: string): Promise<ReplayStore> {
  let p = cache.get(path);
  if (!p) {
    p = (async () => {
      const store: ReplayStore = new Map();
      const put = (prompt: string, model: string, text: string) => {
        const key = normalizePrompt(prompt);
        const m = store.get(key) ?? new Map<string, string>();
        if (!m.has(model)) m.set(model, text);
        store.set(key, m);
      };
      for (const file of await files(path)) {
        const text = await readFile(file, 'utf8');
        if (file.endsWith('.jsonl')) {
          text.split('\n').forEach((line, i) => {
            if (!line.trim()) return;
            let v: { prompt?: unknown; responses?: unknown };
            try {
              v = JSON.parse(line) as typeof v;
            } catch {
              throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `${file}:${i + 1}: not JSON`, {
                param: 'provider.data',
              });
            }
            if (typeof v.prompt !== 'string' || typeof v.responses !== 'object' || v.responses === null)
              throw new ArbiterError(
                ErrorCodes.INVALID_CONFIG,
                `${file}:${i + 1}: expected {"prompt": string, "responses": {model: text}}`,
                { param: 'provider.data' },
              );
            for (const [m, r] of Object.entries(v.responses)) if (typeof r === 'string') put(v.prompt, m, r);
          });
        } else {
          let rows: Array<Record<string, string>>;
          try {
            rows = parse(text, { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
          } catch (e) {
            throw new ArbiterError(
              ErrorCodes.INVALID_CONFIG,
              `${file}: not CSV (${(e as Error).message.split('\n')[0]})`,
              {
                param: 'provider.data',
                cause: e,
              },
            );
          }
          for (const r of rows) {
            if (typeof r.prompt !== 'string') continue;
            const prompt = unwrapPythonList(r.prompt);
            for (const [col, val] of Object.entries(r))
              if (col.endsWith('|model_response') && typeof val === 'string')
                put(prompt, col.slice(0, -'|model_response'.length), unwrapPythonList(val));
          }
        }
      }
      return store;
    })();
    cache.set(path, p);
    p.catch(() => cache.delete(path));
  }
  return p;
}

export class ReplayProvider extends LocalProvider {
  readonly kind = 'replay' as const;

  constructor(
    model: string,
    private readonly store: ReplayStore,
  ) {
    super(model);
  }

  protected answer(req: ChatRequest): string {
    const user = textOf([...req.messages].reverse().find((m) => m.role === 'user')?.content);
    const hit = this.store.get(normalizePrompt(user))?.get(this.model);
    if (hit === undefined)
      throw new ArbiterError(ErrorCodes.NOT_FOUND, `replay model ${this.model} has no recorded answer to this prompt`, {
        param: 'messages',
      });
    return hit;
  }
}
