/**
 * Finds the actual question in a few-shot prompt. Examples are blank-line-separated blocks that
 * repeat the same template lines (an instruction, "Answer:", option markers…); the question is
 * the last block with those template lines removed. Format-agnostic: nothing here knows ARC,
 * MMLU or Winogrande, only "blocks that share lines".
 */

export interface FewShot {
  /** True when earlier blocks repeat the final block's template. */
  detected: boolean;
  /** Worked examples before the question (0 when not detected). */
  examples: number;
  /** The text to analyse and embed: the final question without the shared template lines. */
  question: string;
  /** Lines repeated across blocks (removed from the question). */
  template: string[];
}

const BLOCK_SPLIT = /\n[ \t]*\n/;
/** Answer lines that end an example: "Answer: B", or a short line after "Answer:". */
const ANSWER_PREFIX = /^(answer|a|output|label)\s*[:：]/i;

/** Whether `text` has at least two blank-line separators (fewer: at most two blocks, never few-shot). */
const SEPARATORS = new RegExp(BLOCK_SPLIT.source, 'g');
function twoSeparators(text: string): boolean {
  SEPARATORS.lastIndex = 0;
  const two = SEPARATORS.test(text) && SEPARATORS.test(text);
  SEPARATORS.lastIndex = 0;
  return two;
}

export function extractQuestion(prompt: string): FewShot {
  const text = (prompt.includes('\r') ? prompt.replace(/\r\n?/g, '\n') : prompt).trim();
  // most prompts: no split, no line sets (the answer is the same: fewer than three blocks)
  if (!twoSeparators(text)) return notFewShot(text);
  return fewShot(text);
}

const notFewShot = (text: string): FewShot => ({ detected: false, examples: 0, question: text, template: [] });

// Loops rather than chains of map/filter/some with closures, and each line split and trimmed once
// (a trimmed line is a new string: every Map or Set lookup of a fresh one hashes it again): the
// same result (test/analyze.test.ts checks it against the chained form) in a smaller function for
// V8 to optimise — the chained one was compiled ~4 times in an `arbiter route` run at ~37 ms each.
function fewShot(text: string): FewShot {
  const blocks: string[] = [];
  for (const part of text.split(BLOCK_SPLIT)) {
    const b = part.trim();
    if (b.length > 0) blocks.push(b);
  }
  if (blocks.length < 3) return notFewShot(text);
  const raw = blocks.map((b) => b.split('\n')); // each block's lines, as written
  const trimmed = raw.map((ls) => ls.map((l) => l.trim()));

  // how many blocks each distinct line occurs in
  const seen = new Map<string, number>();
  for (const ls of trimmed) {
    const distinct = new Set<string>();
    for (const t of ls) if (t) distinct.add(t);
    for (const t of distinct) seen.set(t, (seen.get(t) ?? 0) + 1);
  }
  const minRepeats = Math.max(2, Math.ceil((blocks.length - 1) / 2));
  const isTemplate = (t: string) => (seen.get(t) ?? 0) >= minRepeats;

  // the last block that has its own content is the question; blocks of pure template before it
  // (a repeated instruction) belong to the example structure
  let q = blocks.length - 1;
  while (q > 0 && trimmed[q]!.every((t) => isTemplate(t) || ANSWER_PREFIX.test(t))) q--;
  const shared = new Set<string>(); // the question block's template lines, trimmed, in order
  for (const t of trimmed[q]!) if (isTemplate(t)) shared.add(t);
  if (shared.size === 0) return notFewShot(text);
  let examples = 0;
  for (let i = 0; i < q; i++) if (trimmed[i]!.some((t) => shared.has(t))) examples++;
  if (examples < 2) return notFewShot(text);

  const own: string[] = [];
  const last = raw[q]!;
  for (let j = 0; j < last.length; j++)
    if (!isTemplate(trimmed[q]![j]!)) own.push(last[j]!.replace(/\s*(answer|output)\s*[:：]\s*$/i, ''));
  const question = own.join('\n').trim();
  return { detected: true, examples, question: question || blocks[q]!, template: [...shared] };
}
