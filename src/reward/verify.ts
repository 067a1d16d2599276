/**
 * Rule-based rewards where they are real:
 *   - final-answer extraction: a choice letter (also from "The answer is (B)", "B) option text",
 *     or the option's own text, truncated or not), or a number ("#### 42", "= 1,234.5", the last
 *     number), as a canonical string, so answers can be clustered and compared;
 *   - a process reward for arithmetic: each `a op b = c` in a step is evaluated by a small
 *     recursive-descent parser (numbers, + − × ÷ and parentheses; never `eval`), and a step is
 *     scored by whether its calculations hold.
 */

export type AnswerKind = 'choice' | 'number';

const LETTER = /^[A-H]$/;

/** The choice letter a response gives, or null. `options` (letter -> text) lets option text count. */
export function extractChoice(text: string, options?: Record<string, string>, letters = 'ABCDEFGH'): string | null {
  const t = text.trim();
  const allowed = (c: string | undefined) => (c && letters.includes(c) ? c : null);
  // a bare letter, "(B)", "B)", "B." or "B: ..." at the start
  let m = /^\(?([A-H])\)?(?:[\s.:)]|$)/.exec(t);
  if (m && allowed(m[1])) return m[1]!;
  m = /\b(?:answer|choice|option)\s*(?:is|:)?\s*\(?([A-H])\)?(?![A-Za-z])/i.exec(t);
  if (m && allowed(m[1]?.toUpperCase())) return m[1]!.toUpperCase();
  if (options) {
    const norm = (s: string) =>
      s
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, ' ')
        .trim();
    const r = norm(t);
    if (r.length >= 3) {
      const hits = Object.entries(options).filter(([, o]) => {
        const n = norm(o);
        return n.length > 0 && (r === n || r.startsWith(n) || (n.startsWith(r) && r.length >= Math.min(12, n.length)));
      });
      if (hits.length === 1 && LETTER.test(hits[0]![0])) return hits[0]![0];
    }
  }
  return null;
}

/** Options "A) text" / "(A) text" / "A. text" listed in a prompt's last block. */
export function optionsOf(prompt: string): Record<string, string> {
  const block = prompt.split(/\n\s*\n/).at(-1) ?? prompt;
  const out: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const m = /^\s*\(?([A-H])[.)]\s+(.+)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

/** The final number of a response ("#### 42", "answer is 42", else the last number), canonical, or null. */
export function extractNumber(text: string): string | null {
  const canon = (s: string) => {
    const v = Number(s.replace(/,/g, ''));
    return Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : null;
  };
  const num = '-?\\d[\\d,]*(?:\\.\\d+)?';
  let m = new RegExp(`####\\s*\\$?(${num})`).exec(text);
  if (m) return canon(m[1]!);
  m = new RegExp(`answer\\s*(?:is|:)?\\s*\\$?(${num})`, 'i').exec(text);
  if (m) return canon(m[1]!);
  const all = text.match(new RegExp(num, 'g'));
  return all?.length ? canon(all.at(-1)!) : null;
}

/**
 * How final answers of a prompt are compared: numbers for math, choice letters when the prompt
 * lists options (or the task is multiple choice by nature), else free text.
 */
export function answerKindFor(task: string | undefined, prompt: string): AnswerKind | 'text' {
  if (task === 'math') return 'number';
  if (task === 'knowledge' || task === 'reasoning' || Object.keys(optionsOf(prompt)).length >= 2) return 'choice';
  return 'text';
}

/**
 * The final-answer extractor for a prompt: by `kind` when given, else by its task; free-text
 * tasks have no canonical answer (null).
 */
export function answerExtractor(
  prompt: string,
  task: string | undefined,
  kind?: AnswerKind | 'text',
): (text: string) => string | null {
  const k = kind ?? answerKindFor(task, prompt);
  return k === 'text' ? () => null : (text) => extractAnswer(text, k, prompt);
}

export function extractAnswer(text: string, kind: AnswerKind, prompt?: string): string | null {
  return kind === 'choice' ? extractChoice(text, prompt ? optionsOf(prompt) : undefined) : extractNumber(text);
}

// ---- safe arithmetic ----

/** Evaluates + - * / ( ) over decimal numbers (×, ÷, x between numbers accepted); NaN when it does not parse. */
export function evaluateArithmetic(expr: string): number {
  const s = expr
    .replace(/[×x]/g, '*')
    .replace(/÷/g, '/')
    .replace(/,(?=\d{3})/g, '')
    .replace(/\s+/g, '');
  let i = 0;
  const peek = () => s[i];
  const number = (): number => {
    const m = /^\d+(?:\.\d+)?/.exec(s.slice(i));
    if (!m) return NaN;
    i += m[0].length;
    return Number(m[0]);
  };
  const factor = (): number => {
    if (peek() === '-') {
      i++;
      return -factor();
    }
    if (peek() === '(') {
      i++;
      const v = sum();
      if (peek() !== ')') return NaN;
      i++;
      return v;
    }
    return number();
  };
  const product = (): number => {
    let v = factor();
    while (peek() === '*' || peek() === '/') {
      const op = s[i++];
      const r = factor();
      v = op === '*' ? v * r : v / r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === '+' || peek() === '-') {
      const op = s[i++];
      const r = product();
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  if (!s || s.length > 200) return NaN;
  const v = sum();
  return i === s.length ? v : NaN;
}

/**
 * Process reward of one reasoning step for arithmetic: 1 when every `expression = number` in it
 * holds (relative tolerance 1e-6), 0 when any is wrong, 0.5 when it has none to check.
 */
export function arithmeticStepScore(step: string): number {
  const re = /((?:[\d.,]+|\(|\))(?:\s*(?:[-+*/×÷x]|\(|\))\s*(?:[\d.,]+|\(|\))?)+)\s*=\s*\$?(-?[\d,]+(?:\.\d+)?)/g;
  let checked = 0;
  for (const m of step.matchAll(re)) {
    const lhs = evaluateArithmetic(m[1]!.replace(/<<.*?>>/g, ''));
    const rhs = Number(m[2]!.replace(/,/g, ''));
    if (Number.isNaN(lhs) || !/[-+*/×÷x]/.test(m[1]!)) continue;
    checked++;
    if (Math.abs(lhs - rhs) > 1e-6 * Math.max(1, Math.abs(rhs))) return 0;
  }
  return checked ? 1 : 0.5;
}

/** Per-step process rewards of a solution split into steps (lines). */
export function scoreSteps(steps: readonly string[]): number[] {
  return steps.map(arithmeticStepScore);
}
