/**
 * The native analyzer: the features of features.ts and the default rules' match counts computed
 * by the C++ core (native/src/analyze_*.cpp) in one pass over the text. The JavaScript is the
 * reference; test/analyze-native.test.ts checks the two agree on real and random text. The core
 * classifies characters with a table built here, once per process, from JavaScript's own Unicode
 * properties (\p{L}, \p{N}, \s and the scripts), so both sides agree on every code point.
 */
import { loadAddon, type NativeAnalyzerHandle } from '../compute/index.js';
import { complexityOf } from './complexity.js';
import { extractQuestion } from './few-shot.js';
import { SCRIPTS, type Features, type Script } from './features.js';
import { DEFAULT_RULES, scoreRules } from './rules.js';
import type { PromptAnalysis } from './types.js';

/** Values per prompt in the native feature vector, and rule patterns counted. */
export const NATIVE_FEATURES = 17;
export const NATIVE_RULE_PATTERNS = Object.values(DEFAULT_RULES).reduce((n, r) => n + r.patterns.length, 0);

const LETTER = 1;
const NUMBER = 2;
const SPACE = 4;
const SCRIPT_SHIFT = 3;
const MAX_CODE_POINT = 0x10ffff;

/** Code unit index in `all` (every code point but the surrogates, in order) -> code point. */
function codePointAt(unit: number): number {
  if (unit < 0xd800) return unit;
  if (unit < 0xf800) return unit + 0x800;
  return 0x10000 + ((unit - 0xf800) >> 1);
}

let classes: Uint8Array | undefined;

/** One byte per code point: letter, number and space bits, and a letter's script (1 + SCRIPTS index; other: SCRIPTS.length + 1). */
export function characterClasses(): Uint8Array {
  if (classes) return classes;
  const parts: string[] = [];
  for (let start = 0; start <= MAX_CODE_POINT; start += 0x1000) {
    const cps: number[] = [];
    for (let cp = start; cp < Math.min(start + 0x1000, MAX_CODE_POINT + 1); cp++)
      if (cp < 0xd800 || cp > 0xdfff) cps.push(cp);
    parts.push(String.fromCodePoint(...cps));
  }
  const all = parts.join('');
  const t = new Uint8Array(MAX_CODE_POINT + 1);
  // runs of a class: a few thousand regex matches instead of a test per code point
  const mark = (re: RegExp, set: (cp: number) => void) => {
    for (const m of all.matchAll(re))
      for (let u = m.index; u < m.index + m[0].length; u += codePointAt(u) >= 0x10000 ? 2 : 1) set(codePointAt(u));
  };
  mark(/\p{L}+/gu, (cp) => (t[cp]! |= LETTER | ((SCRIPTS.length + 1) << SCRIPT_SHIFT)));
  mark(/\p{N}+/gu, (cp) => (t[cp]! |= NUMBER));
  mark(/\s+/gu, (cp) => (t[cp]! |= SPACE));
  const clear = ~(0xf << SCRIPT_SHIFT);
  // the first script that matches wins, as in features.ts: assign the last first
  for (let s = SCRIPTS.length - 1; s >= 0; s--) {
    const re = new RegExp(`(?:${SCRIPTS[s]![1].source})+`, 'gu');
    mark(re, (cp) => {
      if (t[cp]! & LETTER) t[cp] = (t[cp]! & clear) | ((s + 1) << SCRIPT_SHIFT);
    });
  }
  return (classes = t);
}

let handle: NativeAnalyzerHandle | null | undefined;

/** The addon's analyzer, built on first use; null when the addon (or an addon this new) is not there. */
export function nativeAnalyzer(): NativeAnalyzerHandle | null {
  if (handle === undefined) {
    const addon = loadAddon();
    handle = addon?.Analyzer ? new addon.Analyzer(characterClasses()) : null;
  }
  return handle;
}

const SCRIPT_NAMES: Script[] = ['none', ...SCRIPTS.map(([s]) => s), 'other'];

/** Features from the native vector of prompt i. */
export function featuresAt(v: Float64Array, i: number): Features {
  const o = i * NATIVE_FEATURES;
  return {
    chars: v[o]!,
    words: v[o + 1]!,
    lines: v[o + 2]!,
    sentences: v[o + 3]!,
    codeBlocks: v[o + 4]!,
    codeLineShare: v[o + 5]!,
    mathDensity: v[o + 6]!,
    numbers: v[o + 7]!,
    questionMarks: v[o + 8]!,
    isQuestion: v[o + 9] === 1,
    listItems: v[o + 10]!,
    options: v[o + 11]!,
    script: SCRIPT_NAMES[v[o + 16]!] ?? 'other',
    nonLatinShare: v[o + 12]!,
    englishShare: v[o + 13]!,
    constraints: v[o + 14]!,
    reasoningCues: v[o + 15]!,
  };
}

/** The analysis of prompt i from its few-shot split and the native vectors (what analyze() gives). */
export function analysisAt(
  fewShot: PromptAnalysis['fewShot'],
  features: Float64Array,
  counts: Int32Array,
  i: number,
): PromptAnalysis {
  const f = featuresAt(features, i);
  const c = counts.subarray(i * NATIVE_RULE_PATTERNS, (i + 1) * NATIVE_RULE_PATTERNS);
  return {
    fewShot,
    features: f,
    complexity: complexityOf(f, fewShot.examples),
    task: { ...scoreRules(c, f, DEFAULT_RULES), source: 'keywords' },
  };
}

/** Texts joined, with their UTF-16 offsets (the layout the native calls take). */
export function joinTexts(texts: readonly string[]): { text: string; offsets: Float64Array } {
  const offsets = new Float64Array(texts.length + 1);
  texts.forEach((t, i) => (offsets[i + 1] = offsets[i]! + t.length));
  return { text: texts.join(''), offsets };
}

/** analyze() of many prompts with the native analyzer (null when it is unavailable). */
export function analyzeNative(prompts: readonly string[]): PromptAnalysis[] | null {
  const a = nativeAnalyzer();
  if (!a) return null;
  const shots = prompts.map((p) => extractQuestion(p));
  const { text, offsets } = joinTexts(shots.map((s) => s.question));
  const { features, counts } = a.analyzeBatch(text, offsets);
  return shots.map((s, i) => analysisAt(s, features, counts, i));
}
