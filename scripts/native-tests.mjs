#!/usr/bin/env node
// Builds and runs the standalone C++ tests (no Node inside them): every kernel on the portable
// path, the AVX2 path and, with a GPU, CUDA, against a double-precision reference.
// ARBITER_CUDA=auto|on|off as for the addon; build dir native/build-tests.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

const cuda = (process.env.ARBITER_CUDA ?? 'auto').toUpperCase();
const dir = 'native/build-tests';
const steps = [
  ['cmake', ['-S', '.', '-B', dir, `-DARBITER_CUDA=${cuda}`, '-DARBITER_BUILD_TESTS=ON', '-DCMAKE_BUILD_TYPE=Release']],
  [
    'cmake',
    ['--build', dir, '--parallel', String(Math.max(1, cpus().length)), '--target', 'arbiter_tests', 'arbiter_bench'],
  ],
  [`${dir}/arbiter_tests`, process.argv.slice(2)],
];
for (const [cmd, args] of steps) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    console.error(`native tests: '${cmd} ${args.join(' ')}' failed (${r.status ?? r.signal})`);
    process.exit(1);
  }
}
