/**
 * The attackers of `npm run bench -- hostile`, each in its own worker thread (workerData.mode):
 *   - 'upstream': an OpenAI-compatible upstream that misbehaves by model: `stall` sends one SSE
 *     chunk and then nothing; `huge` sends a 50 MB JSON body; posts its port;
 *   - 'slow': opens `connections` sockets and drips a byte of request body every second to each;
 *   - 'requests': keeps `concurrency` requests with `body` in flight for `seconds` (stalled streams,
 *     huge bodies), each connection pausing `pauseMs` between them, counting how they ended;
 *   - 'probe': GET `url` every `everyMs` for `seconds`, posting the latencies' max and p99.
 */
import http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

type Job =
  | { mode: 'upstream' }
  | { mode: 'slow'; port: number; connections: number; seconds: number }
  | { mode: 'requests'; url: string; body: string; concurrency: number; seconds: number; pauseMs?: number }
  | { mode: 'probe'; url: string; everyMs: number; seconds: number };

const d = workerData as Job;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (d.mode === 'upstream') {
  const piece = `"${'x'.repeat(1 << 20)}",`;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const model = (JSON.parse(raw) as { model: string }).model;
      if (model === 'stall') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { content: 'first ' }, finish_reason: null }] })}\n\n`,
        );
        return; // and nothing more
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"padding": [');
      let sent = 0;
      const pump = () => {
        while (sent < 50 && !res.destroyed && res.write(piece)) sent++;
        if (res.destroyed) return;
        if (sent < 50) res.once('drain', pump);
        else res.end('"end"]}');
      };
      pump();
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort!.postMessage((server.address() as AddressInfo).port));
} else if (d.mode === 'slow') {
  const sockets: Socket[] = [];
  let refused = 0;
  let closedByServer = 0;
  const open = () => {
    const s = connect(d.port, '127.0.0.1');
    s.on('error', () => refused++);
    s.on('close', () => closedByServer++);
    s.write('POST /v1/route HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{');
    sockets.push(s);
  };
  for (let i = 0; i < d.connections; i++) open();
  const end = Date.now() + d.seconds * 1000;
  while (Date.now() < end) {
    await sleep(1000);
    for (const s of sockets) if (!s.destroyed) s.write(' ');
    // the attacker reconnects what the server closed, to keep up the pressure
    const live = sockets.filter((s) => !s.destroyed).length;
    for (let i = live; i < d.connections; i++) open();
  }
  for (const s of sockets) s.destroy();
  parentPort!.postMessage({ opened: sockets.length, refused, closedByServer });
} else if (d.mode === 'requests') {
  const agent = new http.Agent({ keepAlive: false, maxSockets: d.concurrency });
  const url = new URL(d.url);
  const byOutcome: Record<string, number> = {};
  const end = Date.now() + d.seconds * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => {
            const k = `${res.statusCode}${bytes > 1 << 20 ? ' (>1 MB)' : ''}`;
            byOutcome[k] = (byOutcome[k] ?? 0) + 1;
            resolve();
          });
          res.on('error', () => resolve());
        },
      );
      req.on('error', () => {
        byOutcome.error = (byOutcome.error ?? 0) + 1;
        resolve();
      });
      req.end(d.body);
    });
  await Promise.all(
    Array.from({ length: d.concurrency }, async () => {
      while (Date.now() < end) {
        await one();
        if (d.pauseMs) await sleep(d.pauseMs);
      }
    }),
  );
  parentPort!.postMessage({ byOutcome });
} else {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const lat: number[] = [];
  let failed = 0;
  const end = Date.now() + d.seconds * 1000;
  while (Date.now() < end) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const req = http.get(d.url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          lat.push(performance.now() - t0);
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
    await sleep(d.everyMs);
  }
  lat.sort((a, b) => a - b);
  parentPort!.postMessage({
    n: lat.length,
    failed,
    max: lat.at(-1) ?? NaN,
    p99: lat[Math.floor(0.99 * (lat.length - 1))] ?? NaN,
  });
}
