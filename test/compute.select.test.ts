// Backend discovery and choice: probes, ARBITER_BACKEND override, the CUDA fallback on a machine
// without a GPU, and the `arbiter backends` command.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { ArbiterError, ErrorCodes } from '../src/index.js';
import { loadAddon } from '../src/compute/addon.js';
import { createBackend, probeBackends, selectBackend } from '../src/compute/index.js';

const run = promisify(execFile);
const env = { ...process.env };

afterEach(() => {
  process.env = { ...env };
});

describe('backend selection', () => {
  it('probes every backend; js is always available and correct', async () => {
    const statuses = await probeBackends();
    expect(statuses.map((s) => s.name).sort()).toEqual(['cpu', 'cuda', 'gpujs', 'js']);
    const js = statuses.find((s) => s.name === 'js')!;
    expect(js.available).toBe(true);
    expect(js.probe!.queriesPerSec).toBeGreaterThan(0);
    for (const s of statuses)
      if (!s.available) expect(s.reason, `${s.name} must say why it is unavailable`).toBeTruthy();
    // ranked: available backends first, by probe throughput
    const avail = statuses.filter((s) => s.available).map((s) => s.probe!.queriesPerSec);
    expect(avail).toEqual([...avail].sort((a, b) => b - a));
  });

  it('selects the first correct backend in the order cuda, cpu, gpujs, js (the native core whenever it loads)', async () => {
    delete process.env.ARBITER_BACKEND;
    for (let run = 0; run < 5; run++) {
      const sel = await selectBackend({ refresh: true });
      expect(sel.reason).toBe('probe');
      const order = ['cuda', 'cpu', 'gpujs', 'js'];
      const first = order.find((n) => sel.statuses.find((s) => s.name === n)?.available);
      expect(sel.backend.name).toBe(first);
      // probed in order up to the chosen one, which is the only available one listed
      expect(sel.statuses.map((s) => s.name)).toEqual(order.slice(0, order.indexOf(first!) + 1));
      expect(sel.statuses.filter((s) => s.available).map((s) => s.name)).toEqual([first]);
      if (loadAddon()) expect(['cuda', 'cpu']).toContain(sel.backend.name);
    }
  });

  it('ARBITER_BACKEND overrides the choice', async () => {
    process.env.ARBITER_BACKEND = 'js';
    const sel = await selectBackend({ refresh: true });
    expect(sel.backend.name).toBe('js');
    expect(sel.reason).toBe('env');
  });

  it('ARBITER_BACKEND with an unknown name or an unavailable backend is a typed error', async () => {
    process.env.ARBITER_BACKEND = 'tpu';
    await expect(selectBackend({ refresh: true })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    const addon = loadAddon();
    if (addon && !addon.info().cuda.available) {
      process.env.ARBITER_BACKEND = 'cuda';
      await expect(selectBackend({ refresh: true })).rejects.toMatchObject({ code: ErrorCodes.BACKEND_UNAVAILABLE });
    }
  });

  it.skipIf(!loadAddon() || loadAddon()!.info().cuda.available)(
    'without a GPU, cuda is unavailable with a reason and cpu still works',
    async () => {
      const info = loadAddon()!.info();
      expect(info.cuda.available).toBe(false);
      expect(info.cuda.reason.length).toBeGreaterThan(0);
      let err: unknown;
      try {
        createBackend('cuda');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ArbiterError);
      expect((err as ArbiterError).code).toBe(ErrorCodes.BACKEND_UNAVAILABLE);
      // the raw addon refuses CUDA objects with a typed error instead of crashing
      expect(() => new (loadAddon()!.Index)(4, 'f32', 'cuda')).toThrow(/CUDA/);
      const cpu = createBackend('cpu');
      const idx = cpu.createIndex({ dim: 2 });
      await idx.add(Int32Array.of(5), Float32Array.of(3, 4));
      expect((await idx.search(Float32Array.of(3, 4), 1, 'l2')).scores[0]).toBe(0);
    },
  );
});

describe('arbiter backends (CLI)', () => {
  const bin = new URL('../bin/arbiter.js', import.meta.url).pathname;

  it('--json lists every backend with availability and the selected one', async () => {
    const { stdout } = await run(process.execPath, [bin, 'backends', '--json']);
    const out = JSON.parse(stdout) as {
      selected: string;
      backends: Array<{ name: string; available: boolean; reason?: string }>;
    };
    expect(out.backends).toHaveLength(4);
    expect(out.backends.find((b) => b.name === out.selected)?.available).toBe(true);
  });

  it('prints a table, and exits 1 with a one-line reason for a bad ARBITER_BACKEND', async () => {
    const { stdout } = await run(process.execPath, [bin, 'backends']);
    expect(stdout).toMatch(/backend.*available.*probe queries\/s/s);
    const err = await run(process.execPath, [bin, 'backends'], {
      env: { ...process.env, ARBITER_BACKEND: 'nope' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
    expect((err as { stderr: string }).stderr).toMatch(/ARB_INVALID_ARGUMENT: ARBITER_BACKEND must be one of/);
  });
});
