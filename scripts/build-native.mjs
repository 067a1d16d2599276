#!/usr/bin/env node
// Builds the native addon with cmake-js (run by `npm install`).
//   ARBITER_CUDA=auto|on|off   CUDA kernels: auto (default) builds them when nvcc is found.
//   ARBITER_CUDA_ARCH="80;90"  CUDA architectures.
// With auto, a failed CUDA build is retried without CUDA, so a broken toolkit never breaks install.
// npm 11 does not forward npm_config_* settings to install scripts, hence plain variables.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';

const require = createRequire(import.meta.url);
const mode = (process.env.ARBITER_CUDA ?? 'auto').toLowerCase();
if (!['auto', 'on', 'off'].includes(mode)) {
  console.error(`arbiter: ARBITER_CUDA must be auto, on or off (got '${mode}')`);
  process.exit(1);
}

function build(cuda) {
  const cli = require.resolve('cmake-js/bin/cmake-js');
  const args = [
    cli,
    'compile',
    '--out',
    'build',
    '--parallel',
    String(Math.max(1, cpus().length)),
    `--CDARBITER_CUDA=${cuda.toUpperCase()}`,
    '--CDARBITER_BUILD_TESTS=OFF',
  ];
  if (process.env.ARBITER_CUDA_ARCH) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.ARBITER_CUDA_ARCH}`);
  console.log(`arbiter: building the native addon (CUDA ${cuda})`);
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ARBITER_CUDA: cuda } });
  return r.status === 0;
}

if (build(mode)) process.exit(0);
if (mode === 'auto') {
  console.warn('arbiter: the build with CUDA kernels failed; building the CPU-only addon instead');
  if (build('off')) process.exit(0);
}
console.error('arbiter: the native addon failed to build (needs cmake >= 3.18 and a C++17 compiler).');
process.exit(1);
