/** Small text helpers shared by layers that may not import each other (eval, providers). */

/** RouterBench stores each prompt as a Python list literal of strings: ['...']; the first is the prompt. */
export function unwrapPythonList(raw: string): string {
  const m = /^\s*\[\s*(['"])([\s\S]*)\1\s*\]\s*$/.exec(raw);
  if (!m) return raw;
  return m[2]!
    .replace(/\\n/g, '\n')
    .replace(/\\t/g, '\t')
    .replace(/\\(['"\\])/g, '$1');
}

/** Text normalised for duplicate checks across splits. */
export function normalizePrompt(p: string): string {
  return p.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** About 4 characters per token for English. */
export const CHARS_PER_TOKEN = 4;

/** Tokens in a text, estimated. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

/**
 * Text with credentials masked, for anything that may reach a client or a log: bearer tokens,
 * `sk-…`-style keys, `api_key: …` values, and any of the given literal secrets.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out
    .replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi, '$1 [redacted]')
    .replace(/\b(sk|pk|rk|key)-[A-Za-z0-9_-]{6,}/g, '$1-[redacted]')
    .replace(
      /((?:api[_-]?key|authorization|x-api-key|token|secret|password)["']?\s*[:=]\s*["']?)[^\s"',}]{4,}/gi,
      '$1[redacted]',
    );
}
