import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder (where package.json and CMakeLists.txt are), from src/ or dist/src/. */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  let dir = here;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'CMakeLists.txt'))) return dir;
    dir = dirname(dir);
  }
  return resolve(here, '..');
}

/** models/default inside the package. */
export function defaultModelDir(): string {
  return join(packageRoot(), 'models', 'default');
}
