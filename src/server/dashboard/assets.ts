/**
 * The dashboard page's built files (web/ → dist/dashboard by `npm install`'s prepare step), and
 * a report: the same page as one self-contained HTML file, its script, styles and data inline.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ArbiterError, ErrorCodes } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import type { Snapshot } from './types.js';

/** The built page's folder, or undefined when it was not built (a checkout without `npm install`). */
export function dashboardAssets(): string | undefined {
  const dir = join(packageRoot(), 'dist', 'dashboard');
  return existsSync(join(dir, 'index.html')) ? dir : undefined;
}

/** JSON safe inside a script element (no `</script>`, no `<!--`). */
const scriptJson = (x: unknown) => JSON.stringify(x).replace(/</g, '\\u003c');

/** The page with its data embedded: opens from disk, no server, nothing fetched. */
export function reportHtml(snapshot: Snapshot): string {
  const dir = dashboardAssets();
  if (!dir)
    throw new ArbiterError(
      ErrorCodes.UNSUPPORTED,
      'the dashboard page is not built (dist/dashboard): run npm install (or npm run build:web) first',
      {},
    );
  const js = readFileSync(join(dir, 'assets', 'app.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
  const css = existsSync(join(dir, 'assets', 'style.css'))
    ? readFileSync(join(dir, 'assets', 'style.css'), 'utf8').replace(/<\/style/gi, '<\\/style')
    : '';
  const o = snapshot.overview;
  const title = `arbiter report ${new Date(o.since).toISOString().slice(0, 10)} – ${new Date(o.until).toISOString().slice(0, 10)}`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8" />',
    '<meta name="viewport" content="width=device-width, initial-scale=1" />',
    `<title>${title}</title>`,
    `<style>${css}</style>`,
    '</head>',
    '<body>',
    '<div id="app"></div>',
    `<script type="application/json" id="arbiter-snapshot">${scriptJson(snapshot)}</script>`,
    `<script type="module">${js}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
