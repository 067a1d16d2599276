/**
 * Hostile callers of the native addon, each pattern run hundreds of times in a child process (a
 * crash fails the child, not the runner): inputs mutated, transferred, detached or shrunk while a
 * call is in flight, and worker threads terminated with calls in flight. The process must exit 0,
 * every call must resolve with the bytes it was given or reject with a coded error.
 */
import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { loadAddon } from '../../src/compute/addon.js';
import { loadReport } from '../../src/compute/index.js';

const addonPath = loadReport().find((a) => a.ok)?.path;

function runChild(
  source: string,
  data: Record<string, unknown>,
): { status: number | null; signal: string | null; out: Record<string, number>; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=commonjs', '-e', source], {
    encoding: 'utf8',
    env: { ...process.env, HOSTILE: JSON.stringify({ addonPath, ...data }) },
    timeout: 120_000,
  });
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  let out: Record<string, number> = {};
  try {
    out = JSON.parse(last) as Record<string, number>;
  } catch {
    /* the child died before printing */
  }
  return { status: r.status, signal: r.signal, out, stderr: r.stderr.slice(-2000) };
}

// Calls whose inputs are changed right after the call: the result must be the untouched inputs' result.
const mutateSource = `
const { addonPath, rounds } = JSON.parse(process.env.HOSTILE);
const addon = require(addonPath);
(async () => {
  const d = 16, vocab = 64, n = 200;
  let ok = 0, coded = 0, wrong = 0;
  const table = new addon.EmbedTable(Float32Array.from({ length: vocab * d }, () => Math.random() - 0.5), vocab, d, 'cpu');
  const idx = new addon.Index(d, 'f32', 'cpu');
  await idx.add(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), Float32Array.from({ length: n * d }, () => Math.random() - 0.5));
  const mlp = new addon.Mlp([{ in: d, out: 4, weight: Float32Array.from({ length: 4 * d }, () => Math.random() - 0.5), activation: 'none' }], 'cpu');
  const settle = async (p, check) => { try { const v = await p; if (check(v)) ok++; else wrong++; } catch (e) { if (typeof e.code === 'string' && e.code.startsWith('ARB_')) coded++; else throw e; } };
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  for (let r = 0; r < rounds; r++) {
    // pool: ids overwritten with out-of-range values right after the call
    const ids = Int32Array.from({ length: 64 }, () => Math.floor(Math.random() * vocab));
    const off = Int32Array.of(0, 20, 64);
    const want = await table.pool(ids.slice(), off.slice(), null, true);
    const p1 = table.pool(ids, off, null, true); ids.fill(2e9); off.fill(-5);
    await settle(p1, (v) => same(v, want));
    // search: the query buffer transferred (detached) right after the call
    const q = Float32Array.from({ length: 4 * d }, () => Math.random() - 0.5);
    const wantS = await idx.search(q.slice(), 5, 'ip');
    const p2 = idx.search(q, 5, 'ip'); structuredClone(q.buffer, { transfer: [q.buffer] });
    await settle(p2, (v) => same(v.ids, wantS.ids));
    // add: ids and vectors detached right after the call (the index gets what was passed)
    const lab = BigInt64Array.of(BigInt(100000 + r)); const vec = Float32Array.from({ length: d }, () => Math.random());
    const keep = vec.slice();
    const p3 = idx.add(lab, vec); structuredClone(lab.buffer, { transfer: [lab.buffer] }); structuredClone(vec.buffer, { transfer: [vec.buffer] });
    await settle(p3, () => { const got = idx.get(BigInt(100000 + r)); return got !== null && same(got, keep); });
    // mlp: a resizable buffer shrunk to nothing right after the call
    const rb = new ArrayBuffer(8 * d * 4, { maxByteLength: 8 * d * 4 });
    const x = new Float32Array(rb); x.set(Float32Array.from({ length: 8 * d }, () => Math.random()));
    const wantM = await mlp.forward(x.slice());
    const p4 = mlp.forward(x); rb.resize(0);
    await settle(p4, (v) => same(v, wantM));
    // remove: ids overwritten right after the call
    const rm = BigInt64Array.of(BigInt(100000 + r)); const p5 = idx.remove(rm); rm.fill(-1n);
    await settle(p5, (v) => v === 1);
  }
  console.log(JSON.stringify({ ok, coded, wrong }));
})().catch((e) => { console.error(e); process.exit(3); });
`;

// Worker threads that make native calls in a loop, terminated at random moments.
const terminateSource = `
const { Worker } = require('node:worker_threads');
const { addonPath, rounds } = JSON.parse(process.env.HOSTILE);
const worker = \`
const { workerData } = require('node:worker_threads');
const addon = require(workerData.addonPath);
const d = 64, n = 4000, vocab = 1000;
const idx = new addon.Index(d, 'f32', 'cpu');
const table = new addon.EmbedTable(new Float32Array(vocab * d).fill(0.01), vocab, d, 'cpu');
const mlp = new addon.Mlp([{ in: d, out: 8, weight: new Float32Array(8 * d).fill(0.01), activation: 'relu' }], 'cpu');
const rows = new Float32Array(n * d).map(() => Math.random());
const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
(async () => {
  for (let r = 0; ; r++) {
    const calls = [idx.add(ids.map((x) => x + BigInt(r * n)), rows), idx.search(rows.subarray(0, 64 * d), 10, 'cos'),
      table.pool(Int32Array.from({ length: 20000 }, (_, i) => i % vocab), Int32Array.of(0, 10000, 20000), null, true),
      mlp.forward(rows), idx.remove(ids.map((x) => x + BigInt(r * n)))];
    await Promise.allSettled(calls);
  }
})();
\`;
(async () => {
  let terminated = 0;
  for (let r = 0; r < rounds; r++) {
    const w = new Worker(worker, { eval: true, workerData: { addonPath } });
    await new Promise((res) => w.once('online', res));
    await new Promise((res) => setTimeout(res, 5 + Math.random() * 40));
    await w.terminate();
    terminated++;
  }
  console.log(JSON.stringify({ terminated }));
})().catch((e) => { console.error(e); process.exit(3); });
`;

describe.skipIf(!loadAddon())('hostile callers of the native addon', () => {
  it('inputs mutated, detached, transferred or shrunk during a call: same results, no crash (200 rounds)', () => {
    const r = runChild(mutateSource, { rounds: 200 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.out.wrong).toBe(0);
    expect((r.out.ok ?? 0) + (r.out.coded ?? 0)).toBe(1000);
  });

  it('worker threads terminated with native calls in flight: the process lives on (150 terminations)', () => {
    const r = runChild(terminateSource, { rounds: 150 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.out.terminated).toBe(150);
  });
});
