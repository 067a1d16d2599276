/**
 * A gateway with a seeded store for the dashboard's tests (API and browser): three models behind
 * one upstream on 127.0.0.1 (`flaky` fails while `failing` is set), keys on, an experiment, a
 * comparison kept by `compare()`, and requests sent over HTTP — some rated, some failing over.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { FastifyInstance } from 'fastify';

import { compare } from '../src/compare/index.js';
import { StaticEmbedder } from '../src/embed/index.js';
import { createArbiter, type Arbiter } from '../src/index.js';
import { defaultModelDir } from '../src/paths.js';
import { buildGateway } from '../src/server/index.js';
import { availableBackends, Random, sendCompletion, startUpstream } from './helpers.js';

export const ADMIN_KEY = 'dash-admin-key';
export const CLIENT_KEY = 'dash-client-key';

const PROMPTS = [
  'Write a python function that reverses a linked list.',
  'What is the capital of Australia?',
  'Solve for x: 3x + 7 = 22.',
  'Summarise the plot of Hamlet in two sentences.',
  'Implement binary search in Rust.',
  'Which planet has the longest day?',
  'Write a haiku about autumn rain.',
  'Explain why the sky is blue to a child.',
];

export interface DashboardFixture {
  url: string;
  app: FastifyInstance;
  engine: Arbiter;
  /** Ids of the requests sent, oldest first, with the model that answered. */
  sent: Array<{ id: string; model: string; status: number }>;
  /** While true, `flaky` answers 500. */
  setFailing(on: boolean): void;
  /** Sends one chat completion; returns its id, answering model and HTTP status. */
  send(content: string, model?: string, key?: string): Promise<{ id: string; model: string; status: number }>;
  dbFile: string;
  /** The config the gateway runs (JSON), for the command line. */
  configPath: string;
  close(): Promise<void>;
}

export async function startDashboardFixture(o: { requests: number; seed: number }): Promise<DashboardFixture> {
  const rnd = new Random(o.seed);
  let failing = false;
  const upstream = await startUpstream(({ model }, _req, res) => {
    if (model === 'flaky' && failing) return void res.writeHead(500).end('{}');
    // a few milliseconds of latency, varied, so percentiles differ by model
    const delay = (model === 'strong' ? 12 : 3) + Math.floor(rnd.uniform() * 6);
    setTimeout(
      () => sendCompletion(res, model, `answer from ${model}`, { prompt_tokens: 120, completion_tokens: 40 }),
      delay,
    );
  });
  const dir = await mkdtemp(join(tmpdir(), 'arbiter-dash-'));
  const dbFile = join(dir, 'arbiter.db');
  const model = (id: string, quality: number, price: number) => ({
    id,
    provider: { kind: 'openai', baseUrl: upstream.baseUrl, retries: 0 },
    cost: { inputPer1k: price, outputPer1k: price * 2 },
    strengths: { general: quality, code: quality, math: quality, knowledge: quality, creative: quality },
  });
  const backend = availableBackends()[0]!;
  const configPath = join(dir, 'arbiter.yaml'); // JSON is YAML: `arbiter report --config` reads it
  const config = {
    models: [model('strong', 0.95, 0.01), model('flaky', 0.85, 0.002), model('fast', 0.6, 0.0005)],
    routing: { strategy: 'balanced' },
    store: { url: `sqlite:${dbFile}`, flushMs: 50, prompts: 'full' },
    experiments: [
      {
        id: 'cheaper-default',
        unit: 'request',
        arms: [
          { id: 'control', strategy: 'balanced' },
          { id: 'cost', strategy: 'cost' },
        ],
      },
    ],
  };
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const engine = await createArbiter(configPath, {
    backend,
    embedder: await StaticEmbedder.load(defaultModelDir(), backend),
    gate: { backoffBaseMs: 1, failureThreshold: 3, cooldownMs: 120_000 },
  });
  const app = await buildGateway({ arbiter: engine, auth: { clientKeys: [CLIENT_KEY], adminKeys: [ADMIN_KEY] } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const send = async (content: string, m = 'auto', key = CLIENT_KEY) => {
    const r = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: m, messages: [{ role: 'user', content }] }),
    });
    const body = (await r.json()) as { id?: string; model?: string };
    return { id: r.headers.get('x-request-id') ?? body.id ?? '', model: body.model ?? '', status: r.status };
  };
  const sent: DashboardFixture['sent'] = [];
  for (let i = 0; i < o.requests; i++) {
    const pick = ['auto', 'auto', 'strong', 'fast', 'flaky'][i % 5]!;
    const r = await send(PROMPTS[i % PROMPTS.length]!, pick, i % 3 === 0 ? ADMIN_KEY : CLIENT_KEY);
    sent.push(r);
    if (i % 2 === 0 && r.status === 200)
      await fetch(`${url}/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify({ request_id: r.id, score: rnd.uniform() < 0.7 ? 1 : 0 }),
      });
  }
  await compare(
    engine,
    PROMPTS.slice(0, 4).map((prompt, i) => ({ id: String(i), prompt, reference: 'answer from strong' })),
    { models: ['strong', 'fast'], concurrency: 2, retries: 0, timeoutMs: 10_000 },
  );
  await engine.store!.flush();
  return {
    url,
    app,
    engine,
    sent,
    dbFile,
    configPath,
    setFailing: (on) => void (failing = on),
    send,
    close: async () => {
      await app.close();
      await upstream.close();
    },
  };
}
