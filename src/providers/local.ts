/**
 * Providers that answer in-process, with no model behind them (replay, rules): a completion or a
 * stream built from one answer text, every one of `n` choices, usage counted from the lengths.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import { textOf } from './messages.js';
import type { CallOptions, ChatChunk, ChatCompletion, ChatRequest, Provider } from './types.js';

const tokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

export abstract class LocalProvider implements Provider {
  abstract readonly kind: Provider['kind'];

  constructor(protected readonly model: string) {}

  /** The answer to a request (throws a typed error when there is none). */
  protected abstract answer(req: ChatRequest): string;

  async complete(req: ChatRequest, opts: CallOptions = {}): Promise<ChatCompletion> {
    if (opts.signal?.aborted)
      throw new ArbiterError(ErrorCodes.UPSTREAM_ERROR, 'request cancelled by the client', {
        param: 'model',
        status: 499,
      });
    const text = this.answer(req);
    const n = req.n ?? 1;
    const prompt = tokens(req.messages.map((m) => textOf(m.content)).join('\n'));
    return {
      id: `${this.kind}-${Date.now().toString(36)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: this.model,
      choices: Array.from({ length: n }, (_, index) => ({
        index,
        message: { role: 'assistant', content: text },
        finish_reason: 'stop',
      })),
      usage: { prompt_tokens: prompt, completion_tokens: n * tokens(text), total_tokens: prompt + n * tokens(text) },
    };
  }

  /** The answer word by word, for every one of the `n` choices (each choice's chunks in order). */
  async *stream(req: ChatRequest): AsyncIterable<ChatChunk> {
    const text = this.answer(req);
    const id = `${this.kind}-${Date.now().toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, object: 'chat.completion.chunk' as const, created, model: this.model };
    const pieces = text.match(/\S+\s*|\s+/g) ?? [''];
    for (let index = 0; index < (req.n ?? 1); index++) {
      for (const [i, piece] of pieces.entries())
        yield {
          ...base,
          choices: [
            {
              index,
              delta: i === 0 ? { role: 'assistant', content: piece } : { content: piece },
              finish_reason: null,
            },
          ],
        };
      yield { ...base, choices: [{ index, delta: {}, finish_reason: 'stop' }] };
    }
  }
}
