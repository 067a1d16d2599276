/**
 * Structural and linguistic features of a prompt (of its actual question, when few-shot): cheap,
 * deterministic, and the same on every machine. They feed the complexity score, the keyword
 * rules, and (later) the learned quality predictors as a fixed-order vector.
 */

export type Script =
  'latin' | 'cyrillic' | 'greek' | 'arabic' | 'hebrew' | 'devanagari' | 'cjk' | 'hangul' | 'thai' | 'other' | 'none';

export interface Features {
  chars: number;
  words: number;
  lines: number;
  sentences: number;
  /** ``` fenced blocks. */
  codeBlocks: number;
  /** Share of lines that look like code (keywords, braces, indentation, operators). */
  codeLineShare: number;
  /** Math notation: LaTeX commands, equations, operators between numbers, per 100 chars. */
  mathDensity: number;
  numbers: number;
  questionMarks: number;
  /** Starts with a wh-word / auxiliary, or ends with '?'. */
  isQuestion: boolean;
  /** Lines that are list items (-, *, •, 1., 1)). */
  listItems: number;
  /** Lines that are lettered options (A) / A. / (A)). */
  options: number;
  /** Dominant writing system of the letters. */
  script: Script;
  /** Share of letters outside basic Latin. */
  nonLatinShare: number;
  /** English function words per word (a rough "is English" signal). */
  englishShare: number;
  /** Words like "must", "at least", "exactly", "without": constraints on the answer. */
  constraints: number;
  /** "step by step", "prove", "derive", "explain why", "compare"…: asks for reasoning. */
  reasoningCues: number;
}

const CODE_LINE =
  /^(\s{2,}|\t)\S|[{};]\s*$|^\s*(def|class|function|return|import|from|const|let|var|public|private|#include|for|while|if|else|elif|try|catch|SELECT|INSERT)\b|=>|::|\bprint\(|console\.log/;
const MATH =
  /\\(frac|sqrt|sum|int|cdot|times|le|ge|neq|pi|alpha|beta|theta|infty)\b|\$[^$\n]+\$|\d\s*[-+*/^=<>]\s*\d|\b\d+\s*[x×]\s*\d+|[=≤≥≠√∑∫π]/g;
const QUESTION_START =
  /^(what|why|how|when|where|which|who|whom|whose|is|are|can|could|should|would|will|do|does|did|has|have|was|were)\b/i;
const LIST_ITEM = /^\s*([-*•]|\d+[.)])\s+\S/;
const OPTION = /^\s*\(?[A-Ha-h][.)]\s+\S/;
const ENGLISH = new Set([
  'the',
  'a',
  'an',
  'of',
  'to',
  'in',
  'and',
  'is',
  'are',
  'for',
  'on',
  'with',
  'that',
  'this',
  'it',
  'be',
  'as',
  'by',
  'what',
  'which',
  'how',
  'you',
  'i',
  'from',
  'or',
  'not',
  'can',
  'do',
  'was',
  'if',
]);
const CONSTRAINT =
  /\b(must|at least|at most|exactly|no more than|without|only|do not|don't|never|always|ensure|make sure|within)\b/gi;
const REASONING =
  /\b(step[- ]by[- ]step|prove|proof|derive|explain why|justify|reason(ing)?|compare|analy[sz]e|evaluate|why does|what would happen|trade-?offs?|implications?)\b/gi;

/** The scripts told apart, in the order they are tried (a letter of none of them is 'other'). */
export const SCRIPTS: ReadonlyArray<readonly [Script, RegExp]> = [
  ['latin', /\p{Script=Latin}/u],
  ['cyrillic', /\p{Script=Cyrillic}/u],
  ['greek', /\p{Script=Greek}/u],
  ['arabic', /\p{Script=Arabic}/u],
  ['hebrew', /\p{Script=Hebrew}/u],
  ['devanagari', /\p{Script=Devanagari}/u],
  ['cjk', /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u],
  ['hangul', /\p{Script=Hangul}/u],
  ['thai', /\p{Script=Thai}/u],
];

function scriptOf(text: string): { script: Script; nonLatinShare: number } {
  const counts = new Map<Script, number>();
  let letters = 0;
  let ascii = 0; // ASCII letters, counted without a regex: most text is mostly these
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      if ((c | 32) >= 97 && (c | 32) <= 122) ascii++;
      continue;
    }
    // a code point outside ASCII (a surrogate pair is one character)
    const ch = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? text.slice(i, ++i + 1) : text[i]!;
    if (!/\p{L}/u.test(ch)) continue;
    letters++;
    const s = SCRIPTS.find(([, re]) => re.test(ch))?.[0] ?? 'other';
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  letters += ascii;
  if (ascii) counts.set('latin', (counts.get('latin') ?? 0) + ascii);
  if (letters === 0) return { script: 'none', nonLatinShare: 0 };
  const [script] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  return { script, nonLatinShare: 1 - (counts.get('latin') ?? 0) / letters };
}

export function features(text: string): Features {
  const lines = text.split('\n');
  const nonEmpty = lines.filter((l) => l.trim().length > 0);
  const words = text.match(/[\p{L}\p{N}_'-]+/gu) ?? [];
  const lower = words.map((w) => w.toLowerCase());
  const trimmed = text.trim();
  const { script, nonLatinShare } = scriptOf(text);
  return {
    chars: text.length,
    words: words.length,
    lines: nonEmpty.length,
    sentences: (text.match(/[.!?。！？](\s|$)/g) ?? []).length || (trimmed ? 1 : 0),
    codeBlocks: Math.floor((text.match(/^\s*```/gm) ?? []).length / 2),
    codeLineShare: nonEmpty.length ? nonEmpty.filter((l) => CODE_LINE.test(l)).length / nonEmpty.length : 0,
    mathDensity: text.length ? ((text.match(MATH) ?? []).length * 100) / text.length : 0,
    numbers: (text.match(/(?<![\d.])\d+(\.\d+)?/g) ?? []).length, // coefficients too: 3x
    questionMarks: (text.match(/[?？]/g) ?? []).length,
    isQuestion: /[?？]\s*$/.test(trimmed) || QUESTION_START.test(trimmed),
    listItems: lines.filter((l) => LIST_ITEM.test(l)).length,
    options: lines.filter((l) => OPTION.test(l)).length,
    script,
    nonLatinShare,
    englishShare: lower.length ? lower.filter((w) => ENGLISH.has(w)).length / lower.length : 0,
    constraints: (text.match(CONSTRAINT) ?? []).length,
    reasoningCues: (text.match(REASONING) ?? []).length,
  };
}

/** The features as a fixed-order numeric vector (for learned heads). */
export const FEATURE_NAMES = [
  'logChars',
  'logWords',
  'lines',
  'sentences',
  'codeBlocks',
  'codeLineShare',
  'mathDensity',
  'logNumbers',
  'questionMarks',
  'isQuestion',
  'listItems',
  'options',
  'nonLatinShare',
  'englishShare',
  'constraints',
  'reasoningCues',
] as const;

export function featureVector(f: Features): Float32Array {
  return Float32Array.of(
    Math.log1p(f.chars),
    Math.log1p(f.words),
    Math.min(f.lines, 100),
    Math.min(f.sentences, 100),
    f.codeBlocks,
    f.codeLineShare,
    f.mathDensity,
    Math.log1p(f.numbers),
    Math.min(f.questionMarks, 20),
    f.isQuestion ? 1 : 0,
    Math.min(f.listItems, 50),
    Math.min(f.options, 20),
    f.nonLatinShare,
    f.englishShare,
    Math.min(f.constraints, 20),
    Math.min(f.reasoningCues, 20),
  );
}
