/**
 * The `rules` provider: arbiter's offline demo model. No LLM and no hidden recording — a few
 * rules, said plainly: it evaluates arithmetic (`What is 17 * 23?` → `17 * 23 = 391`), answers a
 * greeting, and otherwise says what it is and how to point arbiter at a real model. It lets the
 * demo gateway answer any prompt (the replay models know only their recorded ones), so a
 * newcomer's own first prompt gets an honest answer instead of an error.
 */
import { LocalProvider } from './local.js';
import { textOf } from './messages.js';
import type { ChatRequest } from './types.js';

/** The value of an arithmetic expression (+ − × ÷ ^, parentheses, decimals), or undefined if it is not one. */
export function evaluate(expr: string): number | undefined {
  const src = expr
    .replace(/\*\*/g, '^')
    .replace(/[x×]/g, '*')
    .replace(/÷/g, '/')
    .replace(/,(?=\d{3})/g, '');
  const toks = src.match(/\d+(?:\.\d+)?|[-+*/^()]/g);
  if (!toks || toks.join('') !== src.replace(/\s+/g, '')) return undefined;
  let i = 0;
  const peek = () => toks[i];
  // expr := term (('+'|'-') term)* ; term := factor (('*'|'/') factor)* ; factor := unary ('^' factor)? ; unary := '-' unary | atom
  const atom = (): number => {
    const t = toks[i++];
    if (t === '(') {
      const v = sum();
      if (toks[i++] !== ')') throw new Error('unbalanced');
      return v;
    }
    if (t !== undefined && /^\d/.test(t)) return Number(t);
    throw new Error('expected a number');
  };
  const unary = (): number => (peek() === '-' ? (i++, -unary()) : peek() === '+' ? (i++, unary()) : atom());
  const factor = (): number => {
    const b = unary();
    return peek() === '^' ? (i++, b ** factor()) : b;
  };
  const term = (): number => {
    let v = factor();
    while (peek() === '*' || peek() === '/') v = toks[i++] === '*' ? v * factor() : v / factor();
    return v;
  };
  const sum = (): number => {
    let v = term();
    while (peek() === '+' || peek() === '-') v = toks[i++] === '+' ? v + term() : v - term();
    return v;
  };
  try {
    const v = sum();
    return i === toks.length && Number.isFinite(v) && /[-+*/^]/.test(src) ? v : undefined;
  } catch {
    return undefined;
  }
}

const show = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(12))));

export class RulesProvider extends LocalProvider {
  readonly kind = 'rules' as const;

  protected answer(req: ChatRequest): string {
    const user = textOf([...req.messages].reverse().find((m) => m.role === 'user')?.content).trim();
    // the longest run of characters that can make up arithmetic, e.g. "17 * 23" in "What is 17 * 23?"
    const candidates = user.match(/[-+*/^()x×÷.,\d\s]*\d[-+*/^()x×÷.,\d\s]*/g) ?? [];
    for (const c of candidates.sort((a, b) => b.length - a.length)) {
      const v = evaluate(c.trim());
      if (v !== undefined) return `${c.trim()} = ${show(v)}`;
    }
    if (/^(hi|hello|hey|good (morning|afternoon|evening))\b/i.test(user))
      return `Hello! I am ${this.model}, arbiter's offline demo model.`;
    return (
      `I am ${this.model}, arbiter's offline demo model: a few rules and no LLM, so I can only do arithmetic ` +
      `and greet. arbiter routed your prompt to me because the demo's other models answer only the prompts ` +
      `they have recorded answers for. To get real answers, add a model with provider kind openai (any ` +
      `OpenAI-compatible endpoint) to the config.`
    );
  }
}
