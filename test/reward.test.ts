// Rewards: answer extraction, the safe arithmetic verifier, the reward head on the backend, and
// decoding strategies replayed on generated recorded responses.
import { describe, expect, it } from 'vitest';

import { availableBackends } from './helpers.js';
import {
  arithmeticStepScore,
  evaluateArithmetic,
  extractChoice,
  extractNumber,
  optionsOf,
  REWARD_FEATURES,
  scoreRewards,
  vote,
} from '../src/reward/index.js';
import { evaluateDecoding } from '../src/eval/index.js';
import { fitRewardHead, type OutcomeRecord } from '../src/learn/index.js';
import { rocAuc } from '../src/stats/index.js';

describe('answer extraction', () => {
  it('choice letters in their common forms, and option text', () => {
    const opts = { A: 'buildings will be made safer', B: 'building materials will be cheaper' };
    expect(
      ['A', 'A\n', '(B)', 'B) building materials', 'C. because', 'The answer is (D).', 'Answer: B', 'answer is b'].map(
        (t) => extractChoice(t),
      ),
    ).toEqual(['A', 'A', 'B', 'B', 'C', 'D', 'B', 'B']);
    expect(extractChoice('buildings will be made safer', opts)).toBe('A');
    expect(extractChoice('Building materials will be che', opts)).toBe('B'); // truncated option text
    expect(extractChoice('I think both could be true')).toBeNull();
    expect(optionsOf('Q?\nA) one\nB) two\n\nNext?\nA) red\nB) blue\nAnswer:')).toEqual({ A: 'red', B: 'blue' });
  });

  it('final numbers', () => {
    expect(
      ['She makes 18.\n#### 18', 'The answer is 1,234.', 'so 3 + 4 = 7', 'total: -3.50 dollars', 'none'].map(
        extractNumber,
      ),
    ).toEqual(['18', '1234', '7', '-3.5', null]);
  });
});

describe('vote', () => {
  it('tallies weights per extracted answer and picks the best-weighted candidate of the winner', () => {
    const v = vote(
      [
        { model: 'a', content: 'B', weight: 2 },
        { model: 'b', content: 'The answer is A', weight: 1 },
        { model: 'c', content: '(A)', weight: 1.5 },
      ],
      'choice',
    );
    expect(v.answers).toEqual(['B', 'A', 'A']);
    expect(v.tally).toEqual({ B: 2, A: 2.5 });
    expect(v.winner).toBe(2);
    expect(
      vote(
        [
          { model: 'a', content: 'x 12', weight: 1 },
          { model: 'b', content: '#### 12', weight: 0.5 },
        ],
        'number',
      ).tally,
    ).toEqual({ '12': 1.5 });
    expect(
      vote(
        [
          { model: 'a', content: 'no letter here', weight: 1 },
          { model: 'b', content: 'nothing', weight: 3 },
        ],
        'choice',
      ).winner,
    ).toBe(1); // no answers: the heaviest
  });
});

describe('arithmetic verifier', () => {
  it('evaluates + - * / and parentheses without eval, refusing anything else', () => {
    expect(evaluateArithmetic('2+3*4')).toBe(14);
    expect(evaluateArithmetic('(2 + 3) * 4')).toBe(20);
    expect(evaluateArithmetic('10/4')).toBe(2.5);
    expect(evaluateArithmetic('2×3 - -1')).toBe(7);
    expect(evaluateArithmetic('1,000 * 2')).toBe(2000);
    for (const bad of ['alert(1)', '1+', '2**3', 'process.exit()', '']) expect(evaluateArithmetic(bad)).toBeNaN();
  });

  it('scores steps by whether their calculations hold', () => {
    expect(arithmeticStepScore('She has 16 - 3 - 4 = 9 eggs left.')).toBe(1);
    expect(arithmeticStepScore('So 9 * 2 = 19 dollars.')).toBe(0);
    expect(arithmeticStepScore('16 - 3 - 4 = <<16-3-4=9>>9 eggs')).toBe(1);
    expect(arithmeticStepScore('Then she sells the rest.')).toBe(0.5);
  });
});

describe('reward head', () => {
  it('learns correctness from the features, and scores on every backend as the plain formula does (|diff| <= 1e-5)', async () => {
    const F = REWARD_FEATURES.length;
    const n = 2000;
    const x = new Float32Array(n * F);
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < F; j++) x[i * F + j] = Math.random() * 2 - 1;
      y.push(Math.random() < 1 / (1 + Math.exp(-(3 * x[i * F]! + 2 * x[i * F + 1]!))) ? 1 : 0);
    }
    const head = fitRewardHead(x, y);
    for (const backend of availableBackends()) {
      const got = await scoreRewards(head, backend, x);
      const want = Array.from(
        { length: n },
        (_, i) =>
          1 /
          (1 +
            Math.exp(
              -(
                head.layer.bias![0]! +
                Array.from({ length: F }, (_, j) => head.layer.weight[j]! * x[i * F + j]!).reduce((s, v) => s + v, 0)
              ),
            )),
      );
      expect(Math.max(...want.map((w, i) => Math.abs(w - got[i]!)))).toBeLessThanOrEqual(1e-5);
      expect(rocAuc([...got], y)).toBeGreaterThan(0.8);
    }
  });
});

describe('decoding strategies on recorded responses', () => {
  /** 'strong' is always right and costs 10; three cheap models are right 80% of the time, independently. */
  function recorded(n: number, seed: number): OutcomeRecord[] {
    let s = seed;
    const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    return Array.from({ length: n }, (_, i) => {
      const right = 'ABCD'[i % 4]!;
      const outcomes: Record<string, number> = { strong: 1 };
      const responses: Record<string, string> = { strong: right };
      for (const m of ['a', 'b', 'c']) {
        const ok = rand() < 0.8;
        outcomes[m] = ok ? 1 : 0;
        responses[m] = ok ? right : 'ABCD'[(i + 1 + Math.floor(rand() * 3)) % 4]!; // wrong answers scatter
      }
      return {
        prompt: `question ${seed}-${i}\nA) w\nB) x\nC) y\nD) z\nAnswer:`,
        task: 'knowledge',
        outcomes,
        costs: { strong: 10, a: 1, b: 1, c: 1 },
        responses,
        source: `mem:${i}`,
      };
    });
  }

  it('cascades reach near the strong model at a fraction of its cost, settings chosen on train', async () => {
    const r = await evaluateDecoding(recorded(600, 1), recorded(300, 2), availableBackends()[0]!);
    expect(r.best.model).toBe('strong');
    expect(r.reward.aucAll).toBeGreaterThan(0.8);
    const op = r.operatingPoints.find((p) => p.goal.startsWith('97%'))!;
    expect(op.quality).toBeGreaterThan(0.93);
    expect(op.costShareOfBest).toBeLessThan(0.9); // two cheap calls (20%) plus the escalations
    expect(r.points.find((p) => p.strategy === 'vote' && p.setting.includes('plain'))!.quality).toBeGreaterThan(0.85);
  });
});
