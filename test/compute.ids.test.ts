// Id conversions between an 'i32' index's Int32Array and the native BigInt64Array, against the
// plain BigInt conversion on fresh random ids of every magnitude and sign (and -1, "none").
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { int32Ids, int64Ids } from '../src/compute/index.js';

const ids = fc.array(
  fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(-1, 0, 1, 2 ** 31 - 1, -(2 ** 31))),
  {
    maxLength: 300,
  },
);

describe('id conversions', () => {
  it('int64Ids sign-extends each id as BigInt would', () => {
    fc.assert(
      fc.property(ids, (xs) => {
        const got = int64Ids(Int32Array.from(xs));
        expect(Array.from(got)).toEqual(xs.map((x) => BigInt(x)));
      }),
    );
  });

  it('int32Ids takes each id back, also from a view that does not start its buffer', () => {
    fc.assert(
      fc.property(ids, fc.nat({ max: 5 }), (xs, skip) => {
        const backing = new BigInt64Array(xs.length + skip);
        backing.set(
          xs.map((x) => BigInt(x)),
          skip,
        );
        const view = backing.subarray(skip);
        expect(Array.from(int32Ids(view))).toEqual(xs);
        expect(Array.from(int32Ids(int64Ids(Int32Array.from(xs))))).toEqual(xs);
      }),
    );
  });
});
