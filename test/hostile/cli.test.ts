/**
 * `arbiter route` with a prompt no model can take (600 KB: longer than every context) among
 * thousands: that line is reported like a malformed one and skipped, the others are routed, the
 * process exits 0 — no batch fails with it, no worker is terminated with calls in flight.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = new URL('../../bin/arbiter.js', import.meta.url).pathname;
const config = new URL('../../config/example.yaml', import.meta.url).pathname;

describe('arbiter route with an unroutable prompt', () => {
  it('skips it with a per-line error and routes the rest (3 runs)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-hostile-'));
    const lines = Array.from({ length: 1200 }, (_, i) =>
      JSON.stringify({ id: i, prompt: `Explain item ${i} of the list.` }),
    );
    lines.splice(537, 0, JSON.stringify({ id: 'huge', prompt: 'word '.repeat(120_000) })); // ~150k tokens: over every context
    const input = join(dir, 'in.jsonl');
    await writeFile(input, `${lines.join('\n')}\n`);
    for (let r = 0; r < 3; r++) {
      const output = join(dir, `out${r}.jsonl`);
      const { stderr } = await run(process.execPath, [
        bin,
        'route',
        '--in',
        input,
        '--out',
        output,
        '--config',
        config,
        '--batch',
        '100',
        '--threads',
        '2',
      ]);
      expect(stderr).toMatch(/line 538: cannot route: ARB_NO_ELIGIBLE_MODEL/);
      expect(stderr).toMatch(/1 prompt could not be routed/);
      const out = (await readFile(output, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: unknown });
      expect(out).toHaveLength(1200);
      expect(out.map((d) => d.id)).toEqual(Array.from({ length: 1200 }, (_, i) => i));
    }
    // --strict stops at it with a one-line reason and exit 1
    await expect(
      run(process.execPath, [
        bin,
        'route',
        '--in',
        input,
        '--out',
        join(dir, 'strict.jsonl'),
        '--config',
        config,
        '--batch',
        '100',
        '--threads',
        '2',
        '--strict',
      ]),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('cannot route'),
    });
  }, 120_000); // four CLI runs over 1,201 prompts with the default router: ~3 s each alone, far more beside the other test files
});
