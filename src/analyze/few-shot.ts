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
  if (!twoSeparators(text)) return { detected: false, examples: 0, question: text, template: [] };
  const blocks = text
    .split(BLOCK_SPLIT)
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  const none: FewShot = { detected: false, examples: 0, question: text, template: [] };
  if (blocks.length < 3) return none;

  // how many blocks each distinct line occurs in
  const seen = new Map<string, number>();
  for (const b of blocks)
    for (const line of new Set(
      b
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    ))
      seen.set(line, (seen.get(line) ?? 0) + 1);
  const minRepeats = Math.max(2, Math.ceil((blocks.length - 1) / 2));
  const isTemplate = (line: string) => (seen.get(line.trim()) ?? 0) >= minRepeats;

  // the last block that has its own content is the question; blocks of pure template before it
  // (a repeated instruction) belong to the example structure
  let q = blocks.length - 1;
  while (q > 0 && blocks[q]!.split('\n').every((l) => isTemplate(l) || ANSWER_PREFIX.test(l.trim()))) q--;
  const last = blocks[q]!.split('\n');
  const lastTemplate = last.filter((l) => isTemplate(l));
  if (lastTemplate.length === 0) return none;
  const examples = blocks
    .slice(0, q)
    .filter((b) => b.split('\n').some((l) => lastTemplate.some((t) => t.trim() === l.trim()))).length;
  if (examples < 2) return none;

  const question = last
    .filter((l) => !isTemplate(l))
    .map((l) => l.replace(/\s*(answer|output)\s*[:：]\s*$/i, ''))
    .join('\n')
    .trim();
  return {
    detected: true,
    examples,
    question: question || blocks[q]!,
    template: [...new Set(lastTemplate.map((l) => l.trim()))],
  };
}
