/**
 * The native analyzer: the features of features.ts and the default rules' match counts computed
 * by the C++ core (native/src/analyze_*.cpp) in one pass over the text. The JavaScript is the
 * reference; test/route-native.test.ts checks the two agree on real and random text. The core
 * classifies characters with a table built here, once per process, from JavaScript's own Unicode
 * properties (\p{L}, \p{N}, \s and the scripts), so both sides agree on every code point.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';

import { loadAddon, type NativeAnalyzerHandle } from '../compute/index.js';
import { joinTexts } from '../embed/index.js';
import { packageRoot } from '../paths.js';
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

/**
 * One byte per code point: letter, number and space bits, and a letter's script (1 + SCRIPTS
 * index; other: SCRIPTS.length + 1). Computing it takes about 250 ms (six regex scans over every
 * code point), so it is cached next to the addon, in a file named after this Node's Unicode and
 * ICU versions: a process with another Node computes its own. An unreadable or short file is
 * recomputed; a folder that cannot be written leaves it uncached.
 */
export function characterClasses(): Uint8Array {
  if (classes) return classes;
  const { unicode = 'u', icu = 'i' } = process.versions as Record<string, string | undefined>;
  const file = join(packageRoot(), 'build', `char-classes-u${unicode}-icu${icu}-s${SCRIPTS.length}.bin`);
  try {
    const cached = readFileSync(file);
    if (cached.length === MAX_CODE_POINT + 1 && SAMPLES.every((cp) => cached[cp] === classOf(cp)))
      return (classes = new Uint8Array(cached));
  } catch {
    // not cached yet
  }
  classes = computeClasses();
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${threadId}.tmp`;
    writeFileSync(tmp, classes);
    renameSync(tmp, file); // atomic: a concurrent reader sees the whole file or none
  } catch {
    // a read-only install: computed per process
  }
  return classes;
}

/** Code points of every class, checked in a cached table against the regexes on each load. */
const SAMPLES = [
  0x20, 0x41, 0x5f, 0x7a, 0x35, 0xa0, 0xe9, 0x3a9, 0x44f, 0x5d0, 0x628, 0x915, 0xe01, 0x4e2d, 0x3072, 0xd55c, 0x3000,
  0x663, 0x2167, 0x1d465, 0x20000, 0x1f600, 0xe0001, 0x10fffd,
];

/** One code point's class byte, from the regexes (the reference of computeClasses). */
function classOf(cp: number): number {
  const ch = String.fromCodePoint(cp);
  if (!/\p{L}/u.test(ch)) return (/\p{N}/u.test(ch) ? NUMBER : 0) | (/\s/u.test(ch) ? SPACE : 0);
  const s = SCRIPTS.findIndex(([, re]) => re.test(ch));
  return LETTER | ((s < 0 ? SCRIPTS.length + 1 : s + 1) << SCRIPT_SHIFT) | (/\p{N}/u.test(ch) ? NUMBER : 0);
}

function computeClasses(): Uint8Array {
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
  return t;
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
  const s = scoreRules(c, f, DEFAULT_RULES);
  return {
    fewShot,
    features: f,
    complexity: complexityOf(f, fewShot.examples),
    // its fields named, not spread: this runs once per routed prompt
    task: { label: s.label, confidence: s.confidence, scores: s.scores, source: 'keywords' },
  };
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
