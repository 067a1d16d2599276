// Config loading and the model registry: defaults, every error at once with its key path,
// syntax errors with line and column, secrets refused, and no input that is not an
// ARB_INVALID_CONFIG error (property-based).
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ArbiterError, ErrorCodes, loadConfig, parseConfig, validateConfig } from '../src/index.js';
import { ModelRegistry } from '../src/config/index.js';
// @ts-expect-error: a plain .mjs script without types
import { renderConfigValidator } from '../scripts/gen-config-validator.mjs';

const minimal = {
  models: [
    {
      id: 'a',
      provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
      cost: { inputPer1k: 0.001, outputPer1k: 0.002 },
    },
  ],
};

function problems(f: () => unknown): readonly string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ArbiterError);
    expect((e as ArbiterError).code).toBe(ErrorCodes.INVALID_CONFIG);
    return (e as ArbiterError).details ?? [(e as Error).message];
  }
  throw new Error('expected ARB_INVALID_CONFIG');
}

describe('config', () => {
  it('fills defaults and freezes the result without touching the input', () => {
    const input = structuredClone(minimal);
    const cfg = validateConfig(input, 'mem');
    expect(cfg.models[0]).toEqual({
      ...minimal.models[0],
      provider: {
        ...minimal.models[0]!.provider,
        timeoutMs: 60_000,
        connectTimeoutMs: 5_000,
        firstTokenMs: 20_000,
        retries: 2,
      },
      contextTokens: 8192,
      maxConcurrent: 16,
      latency: { firstTokenMs: 500, tokensPerSec: 50 },
      strengths: {},
      tags: [],
    });
    expect(cfg.routing).toEqual({
      embedder: 'static',
      k: 16,
      oodLevel: 0.02,
      explore: 0,
      drift: { halfLife: 50, priorRatings: 20 },
      strategy: 'balanced',
      weights: { quality: 0.6, cost: 0.2, latency: 0.2 },
    });
    expect(cfg.source).toBe('mem');
    expect(input).toEqual(minimal);
    expect(Object.isFrozen(cfg.models[0]!.cost)).toBe(true);
  });

  it('loads the example config shipped in the repo', async () => {
    const cfg = await loadConfig(new URL('../config/example.yaml', import.meta.url).pathname);
    expect(cfg.models.map((m) => m.id)).toEqual(['small-fast', 'mid-coder', 'large-reasoner']);
    expect(cfg.models[1]!.provider.apiKeyEnv).toBe('MID_KEY');
  });

  it('reports every problem at once, sorted by key path, each with what was expected', () => {
    const bad = {
      models: [
        {
          id: 'ok',
          provider: { kind: 'openai' },
          cost: { inputPer1k: -1, outputPer1k: 'x' },
          contextTokens: 2.5,
          colour: 'red',
        },
        {
          id: 'bad id!',
          provider: { kind: 'grpc', baseUrl: 'ftp://x' },
          cost: { inputPer1k: 0, outputPer1k: 0 },
          strengths: { Math: 2 },
        },
        { provider: { kind: 'replay' }, cost: { inputPer1k: 0, outputPer1k: 0 } },
      ],
      routing: { strategy: 'fastest' },
    };
    expect(problems(() => validateConfig(bad, 'cfg.yaml'))).toEqual([
      'models[0].colour: unknown key',
      'models[0].contextTokens: must be an integer (got 2.5)',
      'models[0].cost.inputPer1k: must be >= 0 (got -1)',
      'models[0].cost.outputPer1k: must be a number (got "x")',
      'models[0].provider.baseUrl: is required',
      'models[1].id: must be 1-128 letters, digits or . _ : / - (got "bad id!")',
      'models[1].provider.baseUrl: must be an http(s) URL (got "ftp://x")',
      'models[1].provider.kind: must be one of openai, azure, anthropic, replay, rules (got "grpc")',
      'models[1].strengths.Math: must be <= 1 (got 2)',
      'models[1].strengths.Math: task names must be lower-case words (a-z, 0-9, _ and -)',
      'models[2].id: is required',
      'models[2].provider.data: is required',
      'routing.strategy: must be one of quality, cost, latency, balanced, custom (got "fastest")',
    ]);
  });

  it('routing.embedder and routing.k are checked; x- keys are free for YAML anchors', async () => {
    expect(() => validateConfig({ ...minimal, routing: { embedder: 'word2vec', k: 0 } }, 'mem')).toThrow(
      /routing\.embedder[\s\S]*routing\.k/,
    );
    expect(validateConfig({ ...minimal, 'x-shared': { anything: 1 } }, 'mem').models).toHaveLength(1);
    const rb = await loadConfig('config/routerbench.yaml');
    expect(rb.models).toHaveLength(11);
    expect(rb.routing).toMatchObject({ model: '../models/routerbench', strategy: 'custom' });
  });

  it('refuses secrets in the file and says where they belong', () => {
    const withKey = structuredClone(minimal) as { models: Array<{ provider: Record<string, unknown> }> };
    withKey.models[0]!.provider.apiKey = 'sk-live-123';
    const [msg] = problems(() => validateConfig(withKey));
    expect(msg).toBe(
      'models[0].provider.apiKey: secrets are not allowed in the config file; put the key in an environment variable and name that variable in apiKeyEnv',
    );
    expect(msg).not.toContain('sk-live-123');
  });

  it('non-data values (functions) are a config error, not a crash', () => {
    const [msg] = problems(() => validateConfig({ models: [{ ...minimal.models[0], id: () => 'a' }] }));
    expect(msg).toMatch(/^\(root\): must be plain data/);
  });

  it('duplicate ids and all-zero weights', () => {
    const dup = {
      models: [minimal.models[0], minimal.models[0]],
      routing: { weights: { quality: 0, cost: 0, latency: 0 } },
    };
    expect(problems(() => validateConfig(dup))).toEqual([
      "models[1].id: duplicate id 'a' (also models[0])",
      'routing.weights: at least one weight must be > 0',
    ]);
  });

  it('syntax errors name the file, line and column; unreadable files are typed errors', async () => {
    expect(() => parseConfig('models:\n  - id: a\n   bad: [', 'x.yaml')).toThrow(/^x\.yaml:3:\d+: cannot parse: /);
    expect(() => parseConfig('models: a\nmodels: b', 'dup.yaml')).toThrow(
      /dup\.yaml:2:1: cannot parse: Map keys must be unique/,
    );
    expect(() => parseConfig('{"models": [}', 'x.json')).toThrow(/^x\.json: cannot parse: /);
    const dir = await mkdtemp(join(tmpdir(), 'arbiter-cfg-'));
    await expect(loadConfig(join(dir, 'missing.yaml'))).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
      message: expect.stringContaining('ENOENT'),
    });
    const file = join(dir, 'c.json');
    await writeFile(file, JSON.stringify(minimal));
    expect((await loadConfig(file)).models).toHaveLength(1);
  });

  it('any input is either a valid config or ARB_INVALID_CONFIG, never another failure', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({ models: fc.array(fc.anything(), { maxLength: 3 }), routing: fc.anything() }),
        ),
        (input) => {
          try {
            validateConfig(input);
          } catch (e) {
            return e instanceof ArbiterError && e.code === ErrorCodes.INVALID_CONFIG;
          }
          return true;
        },
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseConfig(text, 'fuzz.yaml');
        } catch (e) {
          return e instanceof ArbiterError && e.code === ErrorCodes.INVALID_CONFIG;
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });
});

describe('ModelRegistry', () => {
  const reg = new ModelRegistry(
    validateConfig({
      models: [
        minimal.models[0],
        {
          id: 'b',
          provider: { kind: 'openai', baseUrl: 'https://api.example.test/v1', apiKeyEnv: 'B_KEY' },
          cost: { inputPer1k: 0.01, outputPer1k: 0.03 },
        },
      ],
    }),
  );

  it('looks models up by id; unknown ids are ARB_NOT_FOUND naming the configured ones', () => {
    expect(reg.ids()).toEqual(['a', 'b']);
    expect(reg.get('b').cost.outputPer1k).toBe(0.03);
    expect(() => reg.get('c')).toThrow(
      expect.objectContaining({ code: ErrorCodes.NOT_FOUND, message: "unknown model 'c'; configured: a, b" }),
    );
  });

  it('reads API keys from the environment only, and lists the missing ones', () => {
    expect(reg.apiKey('a', {})).toBeUndefined();
    expect(reg.apiKey('b', { B_KEY: 'k' })).toBe('k');
    expect(reg.missingSecrets({})).toEqual([{ model: 'b', variable: 'B_KEY' }]);
    expect(reg.missingSecrets({ B_KEY: 'k' })).toEqual([]);
  });
});

// the running processes compile these without checking them against the meta-schema (a start-up
// cost paid in every worker); a schema mistake is caught here instead
describe('the shipped JSON schemas', () => {
  const modules = {
    schema: () => import('../src/config/schema.js'),
    requests: () => import('../src/config/requests.js'),
    pipelines: () => import('../src/config/pipeline-schema.js'),
  };
  it.each(Object.keys(modules))('in config/%s are valid JSON Schema', async (name) => {
    const mod = (await modules[name as keyof typeof modules]()) as Record<string, unknown>;
    const schemas = Object.entries(mod).filter(
      ([k, v]) => /Schema$/.test(k) && typeof v === 'object' && v !== null && 'type' in v,
    );
    expect(schemas.length).toBeGreaterThan(0);
    const meta = new Ajv({ strict: true, allowUnionTypes: true, keywords: ['x-param'] });
    for (const [k, schema] of schemas) {
      expect(meta.validateSchema(schema as object), `${k}: ${meta.errorsText(meta.errors)}`).toBe(true);
      // and a broken copy is caught, so this check can fail
      expect(meta.validateSchema({ ...(schema as object), type: 'strng' })).toBe(false);
    }
  });

  it('the config validator compiled ahead of time is the current schema compiled (npm run gen:config)', async () => {
    const { configSchema } = await import('../src/config/schema.js');
    const file = new URL('../src/config/config-validator.generated.ts', import.meta.url);
    const render = renderConfigValidator as (schema: object) => string;
    expect(readFileSync(file, 'utf8'), 'src/config/config-validator.generated.ts is stale: npm run gen:config').toBe(
      render(configSchema),
    );
    // a changed schema renders differently, so this check can fail
    expect(render({ ...configSchema, required: ['models', 'routing'] })).not.toBe(render(configSchema));
  });
});
