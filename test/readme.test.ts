/**
 * The README's library examples compile against the package's real types: each ```ts block is
 * written beside this file with `arbiter` imports pointed at the sources, and type-checked with
 * the project's compiler options.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const SUBPATHS: Record<string, string> = {
  arbiter: '../../src/index.js',
  'arbiter/server': '../../src/server/index.js',
  'arbiter/learn': '../../src/learn/index.js',
  'arbiter/eval': '../../src/eval/index.js',
  'arbiter/compute': '../../src/compute/index.js',
};

describe('README', () => {
  it('every TypeScript example type-checks against the sources', () => {
    const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map(
      (m) => m[1]!,
    );
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    const dir = join(root, 'test', '.readme-examples');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = blocks.map((code, i) => {
      const file = join(dir, `example-${i + 1}.ts`);
      writeFileSync(
        file,
        `${code.replace(/from '(arbiter(?:\/\w+)?)'/g, (m, spec: string) => `from '${SUBPATHS[spec] ?? spec}'`)}\nexport {};\n`,
      );
      return file;
    });
    const config = ts.getParsedCommandLineOfConfigFile(
      join(root, 'tsconfig.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
    )!;
    const program = ts.createProgram(files, { ...config.options, noEmit: true, rootDir: root });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.includes(d.file.fileName))
      .map((d) => `${d.file!.fileName.split('/').pop()}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    rmSync(dir, { recursive: true, force: true });
    expect(problems).toEqual([]);
  });
});
