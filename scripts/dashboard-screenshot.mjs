#!/usr/bin/env node
// The README's dashboard screenshot (docs/dashboard.png): the offline demo gateway (a copy of
// config/demo.yaml beside a fresh store) answers the demo prompts over HTTP, some are rated, the
// demo comparison is run, and Chromium (ARBITER_CHROMIUM, else /usr/bin/chromium) photographs
// the page. Nothing is made up: every number on it came through the gateway.
//   npm run build && node scripts/dashboard-screenshot.mjs [out.png]
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { compare } from '../dist/src/compare/index.js';
import { selectBackend } from '../dist/src/compute/index.js';
import { createArbiter } from '../dist/src/index.js';
import { buildGateway } from '../dist/src/server/index.js';

const out = process.argv[2] ?? 'docs/dashboard.png';
const dir = await mkdtemp(join(tmpdir(), 'arbiter-screenshot-'));
for (const f of ['demo.yaml', 'demo-replay.jsonl', 'demo-compare.jsonl'])
  await copyFile(join('config', f), join(dir, f));
const { backend } = await selectBackend();
const engine = await createArbiter(join(dir, 'demo.yaml'), { backend });
const app = await buildGateway({ arbiter: engine, backend: backend.name });
const url = await app.listen({ port: 0, host: '127.0.0.1' });

const recorded = (await readFile(join(dir, 'demo-replay.jsonl'), 'utf8'))
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l).prompt);
// prompts no replay model has recorded go to auto only: the router sends them to offline-rules
const unrecorded = ['Translate "good morning" into Italian.', 'What is 120 / 8?'];
const post = (path, body) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
for (let i = 0; i < 96; i++) {
  const model = ['auto', 'auto', 'auto:cost', 'auto:quality', 'demo-large', 'demo-small'][i % 6];
  const r = await post('/v1/chat/completions', {
    model,
    messages: [{ role: 'user', content: i % 12 === 0 ? unrecorded[(i / 12) % 2] : recorded[i % recorded.length] }],
  });
  const id = r.headers.get('x-request-id');
  await r.arrayBuffer();
  if (id && i % 3 === 0) await post('/v1/feedback', { request_id: id, score: i % 9 === 0 ? 0 : 1 });
}
const cases = (await readFile(join(dir, 'demo-compare.jsonl'), 'utf8'))
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
await compare(engine, cases, { models: ['demo-small', 'demo-large'], retries: 0 });
await engine.store?.flush();

const browser = await chromium.launch({
  executablePath: process.env.ARBITER_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 1500 }, deviceScaleFactor: 1 });
await page.goto(`${url}/dashboard/`);
await page.locator('#traffic canvas').first().waitFor();
await page.locator('#latency canvas').first().waitFor();
await page.screenshot({ path: out });
await browser.close();
await app.close();
process.stdout.write(`dashboard-screenshot: ${out}\n`);
