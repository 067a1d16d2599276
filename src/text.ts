/** Small text helpers shared by layers that may not import each other (eval, providers). */

/** RouterBench stores each prompt as a Python list literal of strings: ['...']; the first is the prompt. */
export function unwrapPythonList(raw: string): string {
  const m = /^\s*\[\s*(['"])([\s\S]*)\1\s*\]\s*$/.exec(raw);
  if (!m) return raw;
  return m[2]!
    .replace(/\\n/g, '\n')
    .replace(/\\t/g, '\t')
    .replace(/\\(['"\\])/g, '$1');
}

/** Text normalised for duplicate checks across splits. */
export function normalizePrompt(p: string): string {
  return p.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** About 4 characters per token for English. */
export const CHARS_PER_TOKEN = 4;

/** Tokens in a text, estimated. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}
