/** The error catalogue: unique codes, a status each, and the C++ header generated from it is current. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ERROR_CATALOGUE, ErrorCodes, httpStatus, invalid } from '../src/errors.js';
// @ts-expect-error: a plain .mjs script without types
import { renderErrorHeader } from '../scripts/gen-error-header.mjs';

describe('error catalogue', () => {
  it('has unique codes, each with an HTTP status, and ErrorCodes mirrors it', () => {
    const codes = ERROR_CATALOGUE.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of ERROR_CATALOGUE) {
      expect(e.code).toBe(`ARB_${e.name}`);
      expect(ErrorCodes[e.name]).toBe(e.code);
      expect(httpStatus(e.code)).toBe(e.status);
      expect(e.status >= 400 && e.status < 600).toBe(true);
    }
    expect(httpStatus(ErrorCodes.INTERNAL)).toBe(500);
    expect(invalid('options.k', 'must be a positive integer')).toMatchObject({
      code: 'ARB_INVALID_ARGUMENT',
      param: 'options.k',
      message: 'options.k must be a positive integer',
    });
  });

  it('native/include/arbiter/error_codes.hpp is generated from it (npm run gen:errors)', () => {
    const header = readFileSync(new URL('../native/include/arbiter/error_codes.hpp', import.meta.url), 'utf8');
    expect(header).toBe((renderErrorHeader as (c: typeof ERROR_CATALOGUE) => string)(ERROR_CATALOGUE));
  });

  it('native sources spell no code by hand', () => {
    const r = spawnSync(
      'grep',
      ['-rln', '"ARB_', 'native/src', 'native/binding', 'native/cuda', 'native/include/arbiter/core.hpp'],
      { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname },
    );
    expect(r.status).toBe(1); // grep: no match
    expect(r.stdout.trim()).toBe('');
  });
});
