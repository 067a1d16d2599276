/**
 * Reads a Hugging Face tokenizer.json: its model (WordPiece or Unigram), normaliser options, the
 * special tokens its post-processor puts around a sequence ([CLS] … [SEP], <s> … </s>), the pad
 * id and the truncation length. BPE models are refused with ARB_UNSUPPORTED.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';
import { UnigramTokenizer, type Vocabulary } from './tokenizer.js';
import type { TextTokenizer } from './types.js';
import { WordPieceTokenizer } from './wordpiece.js';

export interface HfTokenizer {
  tokenizer: TextTokenizer;
  /** Ids before and after the text's own. */
  prefix: number[];
  suffix: number[];
  padId: number;
  /** Longest sequence, special tokens included (truncation.max_length, else 512). */
  maxLength: number;
}

type Json = Record<string, unknown>;
const bad = (msg: string): never => {
  throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `tokenizer.json: ${msg}`, { param: 'tokenizer' });
};
const obj = (v: unknown): Json | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;

function specialIds(
  pp: Json | undefined,
  lookup: (token: string) => number | undefined,
): { prefix: number[]; suffix: number[] } {
  if (!pp) return { prefix: [], suffix: [] };
  const type = pp.type;
  if (type === 'BertProcessing' || type === 'RobertaProcessing') {
    const cls = pp.cls as [string, number] | undefined;
    const sep = pp.sep as [string, number] | undefined;
    return { prefix: cls ? [cls[1]] : [], suffix: sep ? [sep[1]] : [] };
  }
  if (type === 'TemplateProcessing') {
    const single = (pp.single as Json[] | undefined) ?? [];
    const specials = obj(pp.special_tokens) ?? {};
    const ids = (name: string): number[] => {
      const s = obj(specials[name]);
      if (Array.isArray(s?.ids)) return s.ids as number[];
      const id = lookup(name);
      return id === undefined
        ? bad(`post_processor names special token ${JSON.stringify(name)} but it has no id`)
        : [id];
    };
    const prefix: number[] = [];
    const suffix: number[] = [];
    let seen = false;
    for (const piece of single) {
      if (obj(piece)?.Sequence) seen = true;
      const sp = obj(obj(piece)?.SpecialToken);
      if (sp) (seen ? suffix : prefix).push(...ids(String(sp.id)));
    }
    return { prefix, suffix };
  }
  if (type === 'Sequence') {
    const parts = ((pp.processors as Json[] | undefined) ?? []).map((p) => specialIds(obj(p), lookup));
    return { prefix: parts.flatMap((p) => p.prefix), suffix: parts.flatMap((p) => p.suffix) };
  }
  return { prefix: [], suffix: [] }; // ByteLevel and others add no tokens
}

export function parseHfTokenizer(text: string): HfTokenizer {
  let j: Json;
  try {
    j = JSON.parse(text) as Json;
  } catch (e) {
    return bad(`not JSON (${(e as Error).message})`);
  }
  const model = obj(j.model) ?? bad('missing "model"');
  const normalizer = obj(j.normalizer);
  const added = ((j.added_tokens as Json[] | undefined) ?? []).map((t) => ({
    id: Number(t.id),
    content: String(t.content),
    special: t.special === true,
  }));
  let tokenizer: TextTokenizer;
  let lookup: (token: string) => number | undefined;
  if (model.type === 'WordPiece') {
    const vocab = obj(model.vocab) ?? bad('WordPiece model without a vocab object');
    const map = new Map<string, number>(Object.entries(vocab).map(([k, v]) => [k, Number(v)]));
    const bert = normalizer?.type === 'BertNormalizer' ? normalizer : undefined;
    const lowercase = bert ? bert.lowercase !== false : true;
    tokenizer = new WordPieceTokenizer(map, {
      unkToken: String(model.unk_token ?? '[UNK]'),
      prefix: String(model.continuing_subword_prefix ?? '##'),
      maxInputCharsPerWord: Number(model.max_input_chars_per_word ?? 100),
      lowercase,
      stripAccents:
        bert && bert.strip_accents !== null && bert.strip_accents !== undefined
          ? bert.strip_accents === true
          : lowercase,
    });
    lookup = (t) => map.get(t);
  } else if (model.type === 'Unigram') {
    const vocab = model.vocab as Vocabulary | undefined;
    if (!Array.isArray(vocab)) bad('Unigram model without a vocab array');
    // leading special tokens are never produced by segmentation
    const specials = new Set(added.filter((t) => t.special).map((t) => t.id));
    let reserved = 0;
    while (specials.has(reserved)) reserved++;
    const unkId = Number(model.unk_id ?? 0);
    tokenizer = new UnigramTokenizer(vocab!, { reserved, unkId });
    const index = new Map(vocab!.map(([p], i) => [p, i]));
    lookup = (t) => index.get(t);
  } else {
    throw new ArbiterError(
      ErrorCodes.UNSUPPORTED,
      `tokenizer.json: model type ${JSON.stringify(model.type)} is not supported (WordPiece and Unigram are)`,
      { param: 'tokenizer' },
    );
  }
  const addedIds = new Map(added.map((t) => [t.content, t.id]));
  const { prefix, suffix } = specialIds(obj(j.post_processor), (t) => addedIds.get(t) ?? lookup(t));
  const padding = obj(j.padding);
  const truncation = obj(j.truncation);
  const padId = Number(padding?.pad_id ?? addedIds.get('[PAD]') ?? addedIds.get('<pad>') ?? 0);
  const maxLength = Number(truncation?.max_length ?? 512);
  if (!(Number.isInteger(maxLength) && maxLength > prefix.length + suffix.length))
    bad(`truncation.max_length must be an integer > ${prefix.length + suffix.length}`);
  return { tokenizer, prefix, suffix, padId, maxLength };
}
