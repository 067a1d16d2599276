#!/usr/bin/env node
// Writes src/config/config-validator.generated.ts: the config schema (src/config/schema.ts, read
// from dist/) compiled by Ajv ahead of time, so no process compiles it at start (~40-50 ms each:
// the CLI, the gateway, every `arbiter route` worker). `npm run gen:config` after changing the
// schema; test/models.config.test.ts fails while the file is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

/**
 * The options every config is validated with. strictRequired off: conditional `required`
 * (provider kind -> baseUrl or data) lives in if/then branches.
 */
export const CONFIG_AJV_OPTIONS = {
  allErrors: true,
  useDefaults: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
};

/** The generated module's text for a schema. */
export function renderConfigValidator(schema) {
  const ajv = new Ajv({ ...CONFIG_AJV_OPTIONS, code: { source: true, esm: true } });
  const code = (standaloneCode.default ?? standaloneCode)(ajv, ajv.compile(schema));
  return `// @ts-nocheck -- Ajv's standalone output (the runtime helpers it needs are required from ajv)
// Generated from src/config/schema.ts by scripts/gen-config-validator.mjs: do not edit.
/* eslint-disable */
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
${code}
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { configSchema } = await import('../dist/src/config/schema.js');
  const out = new URL('../src/config/config-validator.generated.ts', import.meta.url);
  writeFileSync(out, renderConfigValidator(configSchema));
  console.log(`wrote ${fileURLToPath(out)}`);
}
