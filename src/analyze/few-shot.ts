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

/** A block's lines, trimmed, without the empty ones. */
function trimmedLines(block: string): string[] {
  const out: string[] = [];
  for (const line of block.split('\n')) {
    const t = line.trim();
    if (t) out.push(t);
  }
  return out;
}

// Loops rather than chains of map/filter/some with closures: the same result (test/analyze.test.ts
// checks it against the chained form) in a smaller function for V8 to optimise — the chained one
// was compiled ~4 times in an `arbiter route` run at ~37 ms each, this ~3 times at ~14 ms.
function fewShot(text: string): FewShot {
  const blocks: string[] = [];
  for (const part of text.split(BLOCK_SPLIT)) {
    const b = part.trim();
    if (b.length > 0) blocks.push(b);
  }
  if (blocks.length < 3) return notFewShot(text);

  // how many blocks each distinct line occurs in
  const seen = new Map<string, number>();
  for (const b of blocks) for (const line of new Set(trimmedLines(b))) seen.set(line, (seen.get(line) ?? 0) + 1);
  const minRepeats = Math.max(2, Math.ceil((blocks.length - 1) / 2));
  const isTemplate = (line: string) => (seen.get(line.trim()) ?? 0) >= minRepeats;

  // the last block that has its own content is the question; blocks of pure template before it
  // (a repeated instruction) belong to the example structure
  let q = blocks.length - 1;
  while (q > 0 && onlyTemplate(blocks[q]!, isTemplate)) q--;
  const last = blocks[q]!.split('\n');
  const shared = new Set<string>(); // the question block's template lines, trimmed, in order
  for (const l of last) if (isTemplate(l)) shared.add(l.trim());
  if (shared.size === 0) return notFewShot(text);
  let examples = 0;
  for (let i = 0; i < q; i++)
    for (const l of blocks[i]!.split('\n'))
      if (shared.has(l.trim())) {
        examples++;
        break;
      }
  if (examples < 2) return notFewShot(text);

  const own: string[] = [];
  for (const l of last) if (!isTemplate(l)) own.push(l.replace(/\s*(answer|output)\s*[:：]\s*$/i, ''));
  const question = own.join('\n').trim();
  return { detected: true, examples, question: question || blocks[q]!, template: [...shared] };
}

/** Whether every line of a block is a template line or an answer line. */
function onlyTemplate(block: string, isTemplate: (line: string) => boolean): boolean {
  for (const l of block.split('\n')) if (!isTemplate(l) && !ANSWER_PREFIX.test(l.trim())) return false;
  return true;
}
