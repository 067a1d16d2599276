/**
 * BERT's WordPiece tokenizer, as Hugging Face tokenizer.json describes it: the BertNormalizer
 * (clean text, optional lower-casing and accent stripping, spaces around CJK characters), the
 * BertPreTokenizer (split on whitespace and punctuation), then greedy longest-match-first pieces
 * with a continuing-subword prefix ('##'); a word with no cover, or longer than the limit, is the
 * unknown token.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { TextTokenizer } from './types.js';

export interface WordPieceOptions {
  unkToken?: string;
  prefix?: string;
  maxInputCharsPerWord?: number;
  lowercase?: boolean;
  stripAccents?: boolean;
}

const CJK =
  /[\u4E00-\u9FFF\u3400-\u4DBF\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\uF900-\uFAFF\u{2F800}-\u{2FA1F}]/gu;
const PUNCT = /^[\p{P}!-/:-@[-`{-~]$/u;

export class WordPieceTokenizer implements TextTokenizer {
  private readonly unkId: number;
  private readonly prefix: string;
  private readonly maxChars: number;

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly options: WordPieceOptions = {},
  ) {
    const unk = options.unkToken ?? '[UNK]';
    const id = vocab.get(unk);
    if (id === undefined)
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        `the WordPiece vocabulary has no unknown token ${JSON.stringify(unk)}`,
        { param: 'tokenizer' },
      );
    this.unkId = id;
    this.prefix = options.prefix ?? '##';
    this.maxChars = options.maxInputCharsPerWord ?? 100;
  }

  /** The normalised words (BertNormalizer + BertPreTokenizer). */
  words(text: string): string[] {
    // eslint-disable-next-line no-control-regex -- BertNormalizer drops control characters
    let t = text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFD]/g, '').replace(/\s/g, ' ');
    t = t.replace(CJK, (c) => ` ${c} `);
    if (this.options.lowercase ?? true) t = t.toLowerCase();
    if (this.options.stripAccents ?? this.options.lowercase ?? true) t = t.normalize('NFD').replace(/\p{Mn}/gu, '');
    const out: string[] = [];
    for (const chunk of t.split(' ')) {
      let cur = '';
      for (const ch of chunk) {
        if (PUNCT.test(ch)) {
          if (cur) out.push(cur);
          out.push(ch);
          cur = '';
        } else cur += ch;
      }
      if (cur) out.push(cur);
    }
    return out;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const word of this.words(text)) {
      const chars = [...word];
      if (chars.length > this.maxChars) {
        ids.push(this.unkId);
        continue;
      }
      const pieces: number[] = [];
      let start = 0;
      let ok = true;
      while (start < chars.length) {
        let end = chars.length;
        let found = -1;
        while (end > start) {
          const sub = (start > 0 ? this.prefix : '') + chars.slice(start, end).join('');
          const id = this.vocab.get(sub);
          if (id !== undefined) {
            found = id;
            break;
          }
          end--;
        }
        if (found < 0) {
          ok = false;
          break;
        }
        pieces.push(found);
        start = end;
      }
      if (ok) ids.push(...pieces);
      else ids.push(this.unkId);
    }
    return ids;
  }
}
