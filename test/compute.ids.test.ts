// Id conversions between an 'i32' index's Int32Array and the native BigInt64Array, against the
// plain BigInt conversion on fresh random ids of every magnitude and sign (and -1, "none"); and
// ids repeated within one add refused whether or not they come in increasing order (the check
// skips its set for increasing ids).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createBackend, int32Ids, int64Ids } from '../src/compute/index.js';

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

  it('an add with an id twice is refused and changes nothing; distinct ids, sorted or not, are taken', async () => {
    const js = createBackend('js');
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 60 }),
        fc.boolean(),
        fc.option(fc.nat(), { nil: undefined }),
        async (xs, sorted, dupAt) => {
          const list = sorted ? [...xs].sort((a, b) => a - b) : xs;
          if (dupAt !== undefined) list.splice(dupAt % (list.length + 1), 0, list[dupAt % list.length]!);
          const index = js.createIndex({ dim: 3, dtype: 'f32' });
          const add = index.add(
            Int32Array.from(list),
            Float32Array.from({ length: 3 * list.length }, (_, i) => 1 + (i % 7)),
          );
          if (dupAt === undefined) {
            await add;
            expect(index.size).toBe(list.length);
          } else {
            await expect(add).rejects.toMatchObject({ code: 'ARB_DUPLICATE_ID' });
            expect(index.size).toBe(0);
          }
          index.free();
        },
      ),
    );
  });
});
