/**
 * Keyword rules for the task type: the fallback when no trained task head is loaded (the
 * analysis says `source: 'keywords'`). Each task has weighted patterns and feature cues; scores
 * become a distribution by a softmax. The taxonomy is open: add a task by adding rules.
 */
import type { Features } from './features.js';

export const TASK_TYPES = ['math', 'code', 'reasoning', 'knowledge', 'creative', 'extraction', 'conversation'] as const;
export type TaskType = (typeof TASK_TYPES)[number] | (string & {});

export interface TaskRule {
  patterns: Array<[RegExp, number]>;
  /** Extra evidence from the features. */
  cues?: (f: Features) => number;
}

export const DEFAULT_RULES: Record<string, TaskRule> = {
  math: {
    patterns: [
      [
        /\b(solve|calculate|compute|evaluate|simplify|integral|derivative|equation|probability|how many|how much|sum of|product of|percent(age)?|average|ratio|fraction)\b/gi,
        1,
      ],
      [/\b(prove|theorem|lemma|matrix|vector|polynomial|prime|modulo|factorial|logarithm)\b/gi, 1.2],
      // the second branch starts where no digit precedes, or right after a `$\d` match: from inside
      // a run of digits it fails as from the run's first digit, and trying each start there was
      // quadratic (100,000 digits: 4.3 s)
      [/\$\d|(?:(?<!\d)|(?<=\$\d))\d+\s*(dollars|cents|km|kg|hours|minutes|apples|eggs)\b/gi, 0.8],
    ],
    cues: (f) => Math.min(3, f.mathDensity * 0.8) + Math.min(1.5, f.numbers * 0.25),
  },
  code: {
    patterns: [
      [
        /\b(function|python|javascript|typescript|java|c\+\+|rust|golang|sql|regex|algorithm|implement|refactor|debug|compile|bug|stack trace|api|class|method|script)\b/gi,
        1.2,
      ],
      [/\b(write|create|fix) (a |an |the )?(function|program|script|class|query|method)\b/gi, 2],
    ],
    cues: (f) => f.codeBlocks * 2 + f.codeLineShare * 3,
  },
  reasoning: {
    patterns: [
      [
        /\b(why|explain|reason|logic(al)?|infer|deduce|conclude|implies|assume|therefore|puzzle|riddle|cause|effect|likely)\b/gi,
        0.8,
      ],
      [/\b(what would happen|step by step|think carefully|pros and cons|trade-?offs?)\b/gi, 1.5],
      [/(^|\s)_(\s|$)/g, 1.5], // fill-in-the-blank (Winograd-style) sentences
    ],
    cues: (f) => Math.min(2, f.reasoningCues * 0.8),
  },
  knowledge: {
    patterns: [
      [
        /\b(what is|who (was|is)|when did|where is|which of the following|define|definition|history|capital|discovered|invented|located|known as|refers to)\b/gi,
        1,
      ],
      [/\b(science|biology|chemistry|physics|geography|economics|law|medicine|astronomy)\b/gi, 0.6],
    ],
    cues: (f) => (f.options >= 2 ? 1.5 : 0),
  },
  creative: {
    patterns: [
      [
        /\b(write|compose|draft|create) (a |an |the )?([a-z-]+ )?(story|poem|song|essay|lyrics|haiku|limerick|dialogue|speech|letter|blog post|tweet|slogan)\b/gi,
        3,
      ],
      [/\b(story|poem|fiction|character|plot|imagine|creative|rhyme|metaphor|brainstorm)\b/gi, 1],
    ],
  },
  extraction: {
    patterns: [
      [
        /\b(summari[sz]e|summary|tl;?dr|extract|list (all|the)|find all|identify (all|the)|classify|categori[sz]e|translate|rewrite|paraphrase|convert (this|the following)|key points|bullet points)\b/gi,
        1.5,
      ],
      [/\b(the following (text|passage|article|document|email|paragraph))\b/gi, 1.5],
    ],
    cues: (f) => (f.chars > 1500 ? 0.5 : 0),
  },
  conversation: {
    patterns: [
      [/^(hi|hello|hey|thanks|thank you|good (morning|evening)|how are you)\b/gi, 2],
      [/\b(you|your|chat|talk|feel|think about|opinion|recommend|advice|suggest)\b/gi, 0.5],
    ],
    cues: (f) => (f.words < 8 ? 0.8 : 0),
  },
};

export interface TaskScores {
  label: TaskType;
  confidence: number;
  scores: Record<string, number>;
}

/** Matches of every pattern of `rules`, task by task in their order (what the native analyzer counts for DEFAULT_RULES). */
export function ruleMatchCounts(text: string, rules: Record<string, TaskRule> = DEFAULT_RULES): number[] {
  const counts: number[] = [];
  for (const rule of Object.values(rules)) for (const [re] of rule.patterns) counts.push((text.match(re) ?? []).length);
  return counts;
}

/** A distribution over the tasks of `rules` from keyword and feature evidence. */
export function classifyByRules(
  text: string,
  f: Features,
  rules: Record<string, TaskRule> = DEFAULT_RULES,
  temperature = 1,
): TaskScores {
  return scoreRules(ruleMatchCounts(text, rules), f, rules, temperature);
}

/** classifyByRules from the patterns' match counts (ruleMatchCounts' order). */
export function scoreRules(
  counts: ArrayLike<number>,
  f: Features,
  rules: Record<string, TaskRule> = DEFAULT_RULES,
  temperature = 1,
): TaskScores {
  // loops, not arrays of pairs: this runs once per routed prompt
  let j = 0;
  const tasks: string[] = [];
  const raw: number[] = [];
  let max = -Infinity;
  for (const task in rules) {
    const rule = rules[task]!;
    let s = rule.cues?.(f) ?? 0;
    for (const p of rule.patterns) s += p[1] * Math.min(4, counts[j++]!);
    tasks.push(task);
    raw.push(s);
    max = Math.max(max, s);
  }
  // no rule matched: no evidence for any task — say `general` with no confidence, never an arbitrary task
  if (!(max > 0)) return { label: 'general', confidence: 0, scores: { general: 1 } };
  let z = 0;
  for (let i = 0; i < raw.length; i++) z += raw[i] = Math.exp((raw[i]! - max) / temperature);
  const scores: Record<string, number> = {};
  let label = tasks[0]!;
  let confidence = -Infinity;
  for (let i = 0; i < raw.length; i++) {
    const p = (scores[tasks[i]!] = raw[i]! / z);
    if (p > confidence) {
      label = tasks[i]!; // the first of equals
      confidence = p;
    }
  }
  return { label, confidence, scores };
}
