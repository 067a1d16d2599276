#!/usr/bin/env node
// Writes native/include/arbiter/error_codes.hpp from the error catalogue (src/errors.ts, compiled to dist/).
// `npm run gen:errors` after adding a code; test/errors.test.ts fails while the header is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The header's text for a catalogue of { code, name, means }. */
export function renderErrorHeader(catalogue) {
  const lines = catalogue.map((e) => `// ${e.means}\ninline constexpr const char* ${e.name} = "${e.code}";`);
  return `// Generated from src/errors.ts by scripts/gen-error-header.mjs: do not edit.
// The stable error codes the native core reports (the binding turns them into ArbiterError codes).
#pragma once

namespace arbiter::codes {

${lines.join('\n\n')}

}  // namespace arbiter::codes
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ERROR_CATALOGUE } = await import('../dist/src/errors.js');
  const out = new URL('../native/include/arbiter/error_codes.hpp', import.meta.url);
  writeFileSync(out, renderErrorHeader(ERROR_CATALOGUE));
  console.log(`wrote ${fileURLToPath(out)} (${ERROR_CATALOGUE.length} codes)`);
}
