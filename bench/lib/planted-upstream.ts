/** A worker thread: an OpenAI-compatible upstream that answers each call after its planted delay (planted.ts); posts its port. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort } from 'node:worker_threads';

import { plantedMs } from './planted.js';

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c: Buffer) => (raw += c.toString()));
  req.on('end', () => {
    const body = JSON.parse(raw) as { model: string; messages: Array<{ content: string }> };
    const prompt = body.messages.at(-1)!.content;
    const text = JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model: body.model,
      choices: [
        { index: 0, message: { role: 'assistant', content: `answer ${prompt.length}` }, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 },
    });
    setTimeout(
      () =>
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text),
      plantedMs(body.model, prompt),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => parentPort!.postMessage((server.address() as AddressInfo).port));
