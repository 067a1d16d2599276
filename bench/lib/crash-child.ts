/**
 * For `npm run bench -- store-crash`: an engine recording to a SQLite store answers requests as
 * fast as a loopback upstream allows and prints `<ms since start> <request id>` for each answered
 * one, until it is killed. argv[2]: the store file; argv[3]: flushMs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { createArbiter } from '../../src/index.js';

const completion = JSON.stringify({
  id: 'x',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
});
const upstream = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(completion));
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const port = (upstream.address() as AddressInfo).port;
const arbiter = await createArbiter({
  models: [
    {
      id: 'm',
      provider: { kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, retries: 0 },
      cost: { inputPer1k: 0.001, outputPer1k: 0.001 },
      maxConcurrent: 64,
    },
  ],
  store: { url: `sqlite:${process.argv[2]}`, flushMs: Number(process.argv[3] ?? 500) },
});
const t0 = performance.now();
process.stdout.write('ready\n');
let i = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (;;) {
      const r = await arbiter.complete({ model: 'm', messages: [{ role: 'user', content: `question ${i++}` }] });
      process.stdout.write(`${(performance.now() - t0).toFixed(1)} ${r.id}\n`);
    }
  }),
);
