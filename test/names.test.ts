// dict(): the accumulators keyed by task names and model ids read no key from Object.prototype
// (one task named `constructor` once made every decision's quality NaN), whatever that holds.
import { describe, expect, it } from 'vitest';

import { dict, isEmpty, isTaskName, RESERVED_NAMES } from '../src/names.js';

describe('dict', () => {
  it('reads undefined for every name Object.prototype has, and holds the keys set on it, in order', () => {
    const d = dict<number>();
    for (const name of Object.getOwnPropertyNames(Object.prototype)) expect(d[name], name).toBeUndefined();
    expect('toString' in d).toBe(false);
    expect(isEmpty(d)).toBe(true);
    d.math = 0.25;
    d.code = 0.75;
    const name: string = 'constructor';
    d[name] = 1; // an own key like any other
    expect(Object.keys(d)).toEqual(['math', 'code', 'constructor']);
    expect(JSON.stringify(d)).toBe('{"math":0.25,"code":0.75,"constructor":1}');
    expect((d.writing ?? 0) + d.math!).toBe(0.25);
    const seen: string[] = [];
    for (const k in d) seen.push(k);
    expect(seen).toEqual(['math', 'code', 'constructor']);
  });

  it('does not see what is added to Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      const d = dict<number>();
      expect(d.polluted).toBeUndefined();
      const keys: string[] = [];
      for (const k in d) keys.push(k);
      expect(keys).toEqual([]);
    } finally {
      delete proto.polluted;
    }
  });

  it('task names exclude the names Object.prototype has', () => {
    expect(RESERVED_NAMES).toContain('constructor');
    expect(isTaskName('constructor')).toBe(false);
    expect(isTaskName('math')).toBe(true);
  });
});
