// Prompt analysis on prompts written here (no shared data): few-shot question extraction in two
// common formats and no false positives, features, keyword task rules, and robustness.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze, extractQuestion, FEATURE_NAMES, features, featureVector } from '../src/analyze/index.js';

const mcq = (q: string, opts: string[], answer?: string) =>
  `${q}\n${opts.map((o, i) => `${'ABCD'[i]}) ${o}`).join('\n')}\nPrint only a single choice from "A" or "B" or "C" or "D" without explanation.\nAnswer:${answer ? `\n${answer}` : ''}`;

describe('few-shot question extraction', () => {
  it('finds the final question of a 5-shot multiple-choice prompt and drops the shared template', () => {
    const shots = [
      'What melts ice fastest?',
      'Which planet is largest?',
      'What do plants absorb?',
      'Which is a mammal?',
      'What is H2O?',
    ].map((q, i) => mcq(q, ['one', 'two', 'three', 'four'], 'ABCD'[i % 4]));
    const prompt = [...shots, mcq('What is the mass of a carbon-13 atom?', ['19', '7', '13', '6'])].join('\n\n');
    const fs = extractQuestion(prompt);
    expect(fs).toMatchObject({ detected: true, examples: 5 });
    expect(fs.question).toBe('What is the mass of a carbon-13 atom?\nA) 19\nB) 7\nC) 13\nD) 6');
    expect(fs.template).toContain('Print only a single choice from "A" or "B" or "C" or "D" without explanation.');
  });

  it('handles a repeated instruction block before each example (Winograd style)', () => {
    const ex = (s: string, a: string, b: string, ans?: string) =>
      `Please answer with the letter of the correct answer.\n\n${s}\nA) ${a}\nB) ${b}\nPrint only a single choice from "A" or "B" without explanation. Answer:${ans ? `\n${ans}` : ''}`;
    const prompt = [
      ex('Ian ate because _ was hungry.', 'Ian', 'Dennis', 'A'),
      ex('The cup broke because _ was fragile.', 'cup', 'table', 'A'),
      ex('Sam thanked Max because _ helped.', 'Sam', 'Max', 'B'),
      ex('Kyle wears warmers, Logan does not. _ lives somewhere cold.', 'Kyle', 'Logan'),
    ].join('\n\n');
    const fs = extractQuestion(prompt);
    expect(fs.detected).toBe(true);
    expect(fs.examples).toBe(3);
    expect(fs.question).toBe('Kyle wears warmers, Logan does not. _ lives somewhere cold.\nA) Kyle\nB) Logan');
  });

  it('leaves ordinary multi-paragraph prompts alone', () => {
    const essay =
      'Write an essay about rivers.\n\nFocus on how they shape valleys.\n\nMention deltas and floods.\n\nKeep it under 500 words.';
    const code = 'Fix this function:\n\n```python\ndef f(x):\n    return x\n```\n\nIt should double x.\n\nThanks!';
    for (const p of [essay, code, 'Just one line?', '']) {
      const fs = extractQuestion(p);
      expect(fs.detected).toBe(false);
      expect(fs.question).toBe(p.trim());
    }
  });
});

/** The extraction as first written (chains of map/filter/some), the reference for the loops. */
function referenceExtract(prompt: string) {
  const text = (prompt.includes('\r') ? prompt.replace(/\r\n?/g, '\n') : prompt).trim();
  const none = { detected: false, examples: 0, question: text, template: [] as string[] };
  const blocks = text
    .split(/\n[ \t]*\n/)
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (blocks.length < 3) return none;
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
  const answer = /^(answer|a|output|label)\s*[:：]/i;
  let q = blocks.length - 1;
  while (q > 0 && blocks[q]!.split('\n').every((l) => isTemplate(l) || answer.test(l.trim()))) q--;
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

describe('few-shot extraction against its reference', () => {
  // prompts made of blocks that share lines, answer lines, padding and line-ending variants
  const line = fc.oneof(
    fc.constantFrom('Answer:', 'answer: B', 'A: yes', 'Output:', 'Label: 1', 'Choose one.', '  Choose one.  ', '', ' '),
    fc.constantFrom('A) one', 'B) two', 'C) three', 'D) four', 'Question?', 'Explain it. Answer:'),
    fc.string({ maxLength: 12 }),
  );
  const block = fc.array(line, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('\n'));
  const sep = fc.constantFrom('\n\n', '\n \n', '\n\t\n', '\r\n\r\n', '\n\n\n', '\n');
  const prompt = fc
    .tuple(fc.array(fc.tuple(block, sep), { minLength: 0, maxLength: 8 }), block, fc.constantFrom('', ' ', '\n'))
    .map(([parts, lastBlock, pad]) => pad + parts.map(([b, s]) => b + s).join('') + lastBlock + pad);

  it('gives what the reference gives on random few-shot-like prompts', () => {
    let detected = 0;
    fc.assert(
      fc.property(prompt, (p) => {
        const got = extractQuestion(p);
        expect(got).toEqual(referenceExtract(p));
        if (got.detected) detected++;
      }),
      { numRuns: 2000 },
    );
    expect(detected, 'prompts the generator made that are few-shot').toBeGreaterThan(100);
  });

  it('and on the prompts above and a few edge cases', () => {
    const few = [1, 2, 3, 4, 5].map((i) => `Q${i}?\nA) x\nB) y\nAnswer:${i < 5 ? ' A' : ''}`).join('\n\n');
    for (const p of [few, few.replace(/\n/g, '\r\n'), `Answer:\n\n${few}`, '\n\n\n', 'a\n\nb\n\nc'])
      expect(extractQuestion(p)).toEqual(referenceExtract(p));
    expect(extractQuestion(few).detected).toBe(true);
  });
});

describe('features', () => {
  it('measures code, math, lists, options, questions and script', () => {
    const code = features('Why does this fail?\n```js\nfunction add(a, b) {\n  return a + b;\n}\n```');
    expect(code.codeBlocks).toBe(1);
    expect(code.codeLineShare).toBeGreaterThan(0.3);
    expect(code.isQuestion).toBe(true);
    const math = features('Solve 3x + 5 = 20, then compute \\frac{x}{2}.');
    expect(math.mathDensity).toBeGreaterThan(3);
    expect(math.numbers).toBe(4);
    expect(features('Steps:\n1. mix\n2. bake\n- serve').listItems).toBe(3);
    expect(features('Pick one:\nA) red\nB) blue\n(C) green').options).toBe(3);
    expect(features('東京は日本の首都です').script).toBe('cjk');
    expect(features('Привет, как дела?').script).toBe('cyrillic');
    expect(features('').script).toBe('none');
  });

  it('gives a fixed-order, finite vector', () => {
    const v = featureVector(features('Explain step by step why the sky is blue. You must be brief.'));
    expect(v.length).toBe(FEATURE_NAMES.length);
    expect(Array.from(v).every(Number.isFinite)).toBe(true);
  });
});

describe('analyze', () => {
  it.each([
    ['math', 'Janet has 16 eggs and eats 3 each day. How much money does she make selling the rest at $2 each?'],
    ['code', 'Write a python function to check whether a number is prime.'],
    ['creative', 'Write a short poem about autumn leaves.'],
    [
      'extraction',
      'Summarize the following article in three bullet points: The council met on Monday to discuss the budget.',
    ],
    [
      'knowledge',
      'Which of the following is the capital of Australia?\nA) Sydney\nB) Canberra\nC) Melbourne\nD) Perth',
    ],
    ['reasoning', 'The trophy does not fit in the suitcase because _ is too big. Explain why.'],
    ['conversation', 'hi there, how are you?'],
  ])('labels %s prompts by keyword rules and says so', (label, prompt) => {
    const a = analyze(prompt);
    expect(a.task.label).toBe(label);
    expect(a.task.source).toBe('keywords');
    expect(a.task.confidence).toBeGreaterThan(0.3);
    expect(Object.values(a.task.scores).reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
  });

  it('rates a long constrained reasoning prompt as more complex than a greeting', () => {
    const hard = analyze(
      'Prove step by step that the sum of two odd integers is even. You must justify each step and compare two approaches, without using modular arithmetic.',
    );
    const easy = analyze('hello');
    expect(hard.complexity).toBeGreaterThan(0.5);
    expect(easy.complexity).toBeLessThan(0.2);
  });

  it('never throws and is deterministic on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (s) => {
        const a = analyze(s);
        expect(analyze(s)).toEqual(a);
        expect(a.complexity).toBeGreaterThanOrEqual(0);
        expect(a.complexity).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('script detection', () => {
  // the plain reference: every character through the Unicode regexes
  const SCRIPTS: Array<[string, RegExp]> = [
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
  function reference(text: string) {
    const counts = new Map<string, number>();
    let letters = 0;
    for (const ch of text) {
      if (!/\p{L}/u.test(ch)) continue;
      letters++;
      const s = SCRIPTS.find(([, re]) => re.test(ch))?.[0] ?? 'other';
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    return letters ? 1 - (counts.get('latin') ?? 0) / letters : 0;
  }

  it('the ASCII fast path agrees with the per-character regex reference on random Unicode text', () => {
    const pieces = [
      'hello ',
      'Привет ',
      'γειά ',
      '你好',
      'こんにちは',
      '안녕 ',
      'مرحبا ',
      'שלום ',
      'नमस्ते ',
      'สวัสดี ',
      'é',
      '𝒳𝔸',
      '😀',
      '123 ',
      '\n',
      'ß',
    ];
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string({ unit: 'grapheme' })), { maxLength: 30 }),
        (parts) => {
          const text = parts.join('');
          expect(features(text).nonLatinShare).toBeCloseTo(reference(text), 12);
        },
      ),
      { numRuns: 500 },
    );
    expect(features('Привет мир, hi').script).toBe('cyrillic');
    expect(features('hello мир').script).toBe('latin');
  });
});

describe('analysis head', () => {
  it('fits through near-constant inputs without blowing up the folded float32 layer', async () => {
    const { fitHead } = await import('../src/learn/index.js');
    const n = 80;
    const D = 6;
    const x = new Float32Array(n * D);
    const task = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      task[i] = i % 2;
      x[i * D] = (i % 2 ? 1 : -1) + Math.random() * 0.5; // informative
      x[i * D + 1] = 0.25 + (i % 3) * 1e-9; // constant up to float noise
      for (let j = 2; j < D; j++) x[i * D + j] = Math.random();
    }
    const h = await fitHead(
      { x, task, success: Float64Array.from({ length: n }, (_, i) => (i % 2 ? 0.8 : 0.3)) },
      ['a', 'b'],
      D,
    );
    expect([...h.layer.weight, ...h.layer.bias!].every((v) => Number.isFinite(v) && Math.abs(v) < 1e4)).toBe(true);
    let right = 0;
    for (let i = 0; i < n; i++) {
      const logit = (o: number) =>
        h.layer.bias![o]! +
        Array.from({ length: D }, (_, j) => h.layer.weight[o * D + j]! * x[i * D + j]!).reduce((s, v) => s + v, 0);
      if ((logit(1) > logit(0) ? 1 : 0) === task[i]) right++;
    }
    expect(right / n).toBeGreaterThan(0.95);
  });
});

describe('no keyword evidence', () => {
  const german =
    'Die alte Mühle am Fluss drehte sich langsam im Wind, während die Kinder am Ufer Steine sammelten und die Eltern auf der Bank saßen und über den vergangenen Sommer sprachen, der lang und warm gewesen war.';

  it('is `general` with confidence 0, never an arbitrary task; routing says so too', async () => {
    expect(analyze(german).task).toMatchObject({ label: 'general', confidence: 0, scores: { general: 1 } });
    const { createRouter } = await import('../src/index.js');
    const r = await createRouter({
      models: [
        {
          id: 'm',
          provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
          cost: { inputPer1k: 0, outputPer1k: 0 },
        },
      ],
    });
    const d = await r.route(german);
    expect([d.task.label, d.task.confidence]).toEqual(['general', 0]);
    r.close();
  });
});

describe('analysis head: the batched (GEMM) fit against the plain JavaScript one', () => {
  it('on fresh random data every backend reaches the reference’s predictions (argmax ≥ 99%, probabilities within 0.02)', async () => {
    const { fitHead, headLogits } = await import('../src/learn/index.js');
    const { seededRandom } = await import('../src/stats/index.js');
    const { availableBackends, SEED } = await import('./helpers.js');
    const rnd = seededRandom(SEED);
    const n = 600;
    const D = 24;
    const T = 5;
    // tasks separated along random directions, with noise
    const centres = Array.from({ length: T }, () => Array.from({ length: D }, () => rnd() * 2 - 1));
    const x = new Float32Array(n * D);
    const task = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      task[i] = i % 7 === 6 ? -1 : i % T; // some unlabelled rows
      for (let j = 0; j < D; j++) x[i * D + j] = centres[i % T]![j]! + (rnd() + rnd() + rnd() - 1.5) * 0.9;
    }
    const data = { x, task, success: Float64Array.from({ length: n }, () => rnd()) };
    const tasks = ['a', 'b', 'c', 'd', 'e'];
    const reference = await fitHead(data, tasks, D);
    for (const backend of availableBackends()) {
      const fast = await fitHead(data, tasks, D, {}, backend);
      const [r, f] = [await headLogits(reference, backend, x), await headLogits(fast, backend, x)];
      let agree = 0;
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const soft = (l: Float32Array) => {
          const row = Array.from(l.subarray(i * T, (i + 1) * T));
          const m = Math.max(...row);
          const e = row.map((v) => Math.exp(v - m));
          const s = e.reduce((a, b) => a + b, 0);
          return e.map((v) => v / s);
        };
        const [pr, pf] = [soft(r.logits), soft(f.logits)];
        if (pr.indexOf(Math.max(...pr)) === pf.indexOf(Math.max(...pf))) agree++;
        worst = Math.max(worst, ...pr.map((v, t) => Math.abs(v - pf[t]!)));
      }
      expect(agree / n, `${backend.name}, seed ${SEED}`).toBeGreaterThanOrEqual(0.99);
      expect(worst, `${backend.name}, seed ${SEED}`).toBeLessThan(0.02);
    }
  });
});
