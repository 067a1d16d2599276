/**
 * The reward models behind the OutcomeReward / ProcessReward interfaces:
 *   - `verifier`: rule-based — final answers extracted and clustered (a candidate is worth more the
 *     more reliability-weighted others reach its answer), arithmetic steps checked; the process
 *     reward checks each step's calculations;
 *   - `head`: the learned reward (`arbiter train-reward`), scored in batch on the compute backend;
 *   - `onnx`: any ONNX reward model (a cross-encoder over (prompt, response) pairs) with its
 *     Hugging Face tokenizer.json, run by onnxruntime-node; as a process reward it scores each
 *     prefix of the solution;
 *   - `judge`: an LLM judge through a provider, its rubric score parsed robustly, its cost told to
 *     the caller.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { ComputeBackend } from '../compute/index.js';
import { openOnnxModel, readManifest, readModelFile, type OnnxModel } from '../embed/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ChatCompletion, ChatRequest } from '../providers/index.js';
import { rewardFeatures, REWARD_FEATURES, scoreRewards } from './head.js';
import type { ResponseCandidate, OutcomeReward, ProcessReward, ScoreContext } from './types.js';
import { answerExtractor, answerKindFor, arithmeticStepScore } from './verify.js';
import { logit } from '../math.js';
import { headFor, reliabilityOf, selectIndex, type RewardModelFile } from './model-file.js';

function answersOf(
  prompt: string,
  cands: readonly ResponseCandidate[],
  ctx: ScoreContext | undefined,
): Array<string | null> {
  const answer = answerExtractor(prompt, ctx?.task, ctx?.answerKind);
  return cands.map((c) => answer(c.content));
}

/** Splits a solution into reasoning steps: blank-line separated blocks, else lines. */
export function splitSteps(text: string): string[] {
  const blocks = text
    .split(/\n\s*\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  return blocks.length > 1
    ? blocks
    : text
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean);
}

export class VerifierReward implements OutcomeReward, ProcessReward {
  readonly kind = 'verifier' as const;
  readonly name = 'verifier';

  /**
   * With an extractable answer: 0.3 + 0.7 × the reliability-weighted share of the other candidates
   * giving the same answer (0.5 when alone); no answer where one is expected: 0.1; free text: 0.5.
   * Halved when a calculation in the response is wrong.
   */
  async score(prompt: string, cands: readonly ResponseCandidate[], ctx?: ScoreContext): Promise<Float32Array> {
    const kind = ctx?.answerKind ?? answerKindFor(ctx?.task, prompt);
    const answers = answersOf(prompt, cands, ctx);
    const w = cands.map((c) => Math.max(0.05, logit(ctx?.reliability?.(c.model) ?? 0.6)));
    return Float32Array.from(cands, (c, i) => {
      let base = 0.5;
      if (kind !== 'text') {
        if (answers[i] === null) base = 0.1;
        else {
          let same = 0;
          let total = 0;
          cands.forEach((_, j) => {
            if (j === i) return;
            total += w[j]!;
            if (answers[j] === answers[i]) same += w[j]!;
          });
          base = 0.3 + 0.7 * (total > 0 ? same / total : 0.5);
        }
      }
      return splitSteps(c.content).some((s) => arithmeticStepScore(s) === 0) ? base / 2 : base;
    });
  }

  async scoreSteps(_prompt: string, steps: readonly string[]): Promise<number[]> {
    return steps.map(arithmeticStepScore);
  }
}

export class HeadReward implements OutcomeReward {
  readonly kind = 'head' as const;

  constructor(
    readonly file: RewardModelFile,
    readonly backend: ComputeBackend,
    readonly name = 'head',
  ) {}

  /** `path`: a model folder (manifest.json + reward.json, checksums verified), a folder with reward.json, or the file. */
  static async load(path: string, backend: ComputeBackend): Promise<HeadReward> {
    let file = path;
    let text: string;
    try {
      if ((await stat(path)).isDirectory()) {
        file = join(path, 'reward.json');
        const hasManifest = await stat(join(path, 'manifest.json')).then(
          () => true,
          () => false,
        );
        if (hasManifest) {
          const m = await readManifest(path);
          if (m.kind !== 'reward')
            throw new ArbiterError(
              ErrorCodes.INVALID_ARGUMENT,
              `reward head: ${path} is a '${m.kind}' model, not a reward model`,
              { param: 'reward' },
            );
          text = (await readModelFile(path, m, 'reward-head')).data.toString('utf8');
        } else text = await readFile(file, 'utf8');
      } else text = await readFile(file, 'utf8');
    } catch (e) {
      if (e instanceof ArbiterError) throw e;
      throw new ArbiterError(
        ErrorCodes.NOT_FOUND,
        `reward head: cannot read ${file} (${(e as NodeJS.ErrnoException).code})`,
        { param: 'reward' },
      );
    }
    let j: RewardModelFile;
    try {
      j = JSON.parse(text) as RewardModelFile;
    } catch (e) {
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        `reward head: ${file} is not JSON (${(e as Error).message})`,
        { param: 'reward' },
      );
    }
    const F = REWARD_FEATURES.length;
    const ok =
      j?.format === 'arbiter-reward-head' &&
      j.version === 1 &&
      JSON.stringify(j.features) === JSON.stringify(REWARD_FEATURES) &&
      j.heads?.['*'] !== undefined &&
      Object.values(j.heads).every(
        (h) =>
          Array.isArray(h.weight) &&
          h.weight.length === F &&
          h.weight.every(Number.isFinite) &&
          Number.isFinite(h.bias),
      );
    if (!ok)
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        `reward head: ${file} is not an arbiter reward head (format arbiter-reward-head v1 with features ${REWARD_FEATURES.join(', ')})`,
        { param: 'reward' },
      );
    return new HeadReward(j, backend, `head:${path}`);
  }

  /**
   * Selection: the most reliable model's candidate unless another's reward beats it by more than
   * the task's learned margin (chosen on out-of-fold scores when the head was trained).
   */
  pick(cands: readonly ResponseCandidate[], scores: ArrayLike<number>, ctx?: ScoreContext): number {
    const rel = reliabilityOf(this.file.reliability, ctx?.task, ctx?.reliability);
    const top = cands.reduce((a, c, i) => (rel(c.model) > rel(cands[a]!.model) ? i : a), 0);
    const margin = this.file.selectMargin?.[ctx?.task ?? '*'] ?? this.file.selectMargin?.['*'] ?? 0;
    return selectIndex(scores, top, margin);
  }

  /** The learned acceptance threshold for a task (cascades). */
  acceptThreshold(task: string | undefined): number {
    return this.file.accept[task ?? '*'] ?? this.file.accept['*'] ?? 0.5;
  }

  private rows(prompt: string, cands: readonly ResponseCandidate[], ctx: ScoreContext | undefined): Float32Array {
    const answers = answersOf(prompt, cands, ctx);
    return rewardFeatures(
      cands.map((c, i) => ({ model: c.model, response: c.content, answer: answers[i]! })),
      reliabilityOf(this.file.reliability, ctx?.task, ctx?.reliability),
    );
  }

  async score(prompt: string, cands: readonly ResponseCandidate[], ctx?: ScoreContext): Promise<Float32Array> {
    if (!cands.length) return new Float32Array(0);
    return scoreRewards(headFor(this.file, ctx?.task), this.backend, this.rows(prompt, cands, ctx));
  }

  /** Many prompts at once: one backend call per task head. */
  async scoreBatch(
    items: ReadonlyArray<{ prompt: string; candidates: readonly ResponseCandidate[]; ctx?: ScoreContext }>,
  ): Promise<Float32Array[]> {
    const byTask = new Map<string, number[]>();
    items.forEach((it, i) => byTask.set(it.ctx?.task ?? '*', [...(byTask.get(it.ctx?.task ?? '*') ?? []), i]));
    const out: Float32Array[] = new Array(items.length);
    const F = REWARD_FEATURES.length;
    for (const [task, idx] of byTask) {
      const rows = idx.map((i) => this.rows(items[i]!.prompt, items[i]!.candidates, items[i]!.ctx));
      const x = new Float32Array(rows.reduce((s, r) => s + r.length, 0));
      let off = 0;
      for (const r of rows) {
        x.set(r, off);
        off += r.length;
      }
      const s = await scoreRewards(headFor(this.file, task === '*' ? undefined : task), this.backend, x);
      off = 0;
      idx.forEach((i, k) => {
        const n = rows[k]!.length / F;
        out[i] = s.slice(off, off + n);
        off += n;
      });
    }
    return out;
  }
}

export interface OnnxRewardOptions {
  batchSize?: number;
  maxLength?: number;
  threads?: number;
}

/**
 * A cross-encoder reward model: the (prompt, response) pair tokenised as [prefix] prompt [suffix]
 * response [suffix] with token_type_ids 0 then 1, longest-first truncation; the output (named
 * `logits`, else the first) of shape [B], [B, 1] (sigmoid) or [B, 2] (softmax, class 1).
 */
export class OnnxReward implements OutcomeReward, ProcessReward {
  readonly kind = 'onnx' as const;
  readonly name: string;

  private constructor(
    private readonly m: OnnxModel,
    private readonly output: string,
    private readonly batchSize: number,
  ) {
    this.name = `onnx:${m.name}`;
  }

  static async load(path: string, options: OnnxRewardOptions = {}): Promise<OnnxReward> {
    const batchSize = options.batchSize ?? 16;
    if (!(Number.isInteger(batchSize) && batchSize > 0))
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, 'batchSize must be a positive integer', {
        param: 'batchSize',
      });
    const m = await openOnnxModel(path, 'onnx reward', 'reward', options);
    const output = m.session.outputNames.includes('logits') ? 'logits' : m.session.outputNames[0]!;
    return new OnnxReward(m, output, batchSize);
  }

  /** Token ids and segment ids of one pair. */
  encodePair(a: string, b: string): { ids: number[]; types: number[] } {
    const { tok } = this.m;
    const budget = Math.max(2, tok.maxLength - tok.prefix.length - 2 * tok.suffix.length);
    let ta = tok.tokenizer.encode(a);
    let tb = tok.tokenizer.encode(b);
    if (ta.length + tb.length > budget) {
      const half = Math.floor(budget / 2);
      if (ta.length <= half) tb = tb.slice(0, budget - ta.length);
      else if (tb.length <= budget - half) ta = ta.slice(0, budget - tb.length);
      else {
        ta = ta.slice(0, half);
        tb = tb.slice(0, budget - half);
      }
    }
    const first = [...tok.prefix, ...ta, ...tok.suffix];
    const second = [...tb, ...tok.suffix];
    return { ids: [...first, ...second], types: [...first.map(() => 0), ...second.map(() => 1)] };
  }

  private async run(pairs: ReadonlyArray<[string, string]>): Promise<Float32Array> {
    const { ort, session, tok } = this.m;
    const enc = pairs.map(([a, b]) => this.encodePair(a, b));
    const B = enc.length;
    const T = Math.max(1, ...enc.map((e) => e.ids.length));
    const ids = new BigInt64Array(B * T).fill(BigInt(tok.padId));
    const mask = new BigInt64Array(B * T);
    const types = new BigInt64Array(B * T);
    enc.forEach((e, b) =>
      e.ids.forEach((id, t) => {
        ids[b * T + t] = BigInt(id);
        mask[b * T + t] = 1n;
        types[b * T + t] = BigInt(e.types[t]!);
      }),
    );
    const feeds: Record<string, InstanceType<OnnxModel['ort']['Tensor']>> = {
      input_ids: new ort.Tensor('int64', ids, [B, T]),
    };
    if (session.inputNames.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', mask, [B, T]);
    if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', types, [B, T]);
    let out;
    try {
      out = (await session.run(feeds))[this.output]!;
    } catch (e) {
      throw new ArbiterError(ErrorCodes.NATIVE_ERROR, `onnx reward: run failed: ${(e as Error).message}`, {
        param: 'reward',
      });
    }
    const d = out.data as Float32Array;
    const dims = out.dims;
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    let s: Float32Array;
    if ((dims.length === 1 && dims[0] === B) || (dims.length === 2 && dims[0] === B && dims[1] === 1))
      s = Float32Array.from(d, sig);
    else if (dims.length === 2 && dims[0] === B && dims[1] === 2)
      s = Float32Array.from({ length: B }, (_, b) => sig(d[b * 2 + 1]! - d[b * 2]!));
    else
      throw new ArbiterError(
        ErrorCodes.UNSUPPORTED,
        `onnx reward: output ${this.output} has shape [${dims.join(', ')}]; expected [batch], [batch, 1] or [batch, 2]`,
        { param: 'reward' },
      );
    if (s.some((v) => !Number.isFinite(v)))
      throw new ArbiterError(ErrorCodes.NOT_FINITE, 'onnx reward: non-finite score', { param: 'reward' });
    return s;
  }

  async score(prompt: string, cands: readonly ResponseCandidate[]): Promise<Float32Array> {
    const out = new Float32Array(cands.length);
    for (let i = 0; i < cands.length; i += this.batchSize)
      out.set(await this.run(cands.slice(i, i + this.batchSize).map((c) => [prompt, c.content])), i);
    return out;
  }

  /** Step i's score: the reward of the solution so far (steps 0..i joined by blank lines). */
  async scoreSteps(prompt: string, steps: readonly string[]): Promise<number[]> {
    const prefixes = steps.map((_, i) => ({ model: '', content: steps.slice(0, i + 1).join('\n\n') }));
    return [...(await this.score(prompt, prefixes))];
  }
}

/** A judge's score as a fraction: "[[8]]", "Score: 8/10", "8 out of 10", "Rating: 4/5", "7.5"; null when none. */
export function parseJudgeScore(text: string, scale = 10): number | null {
  const t = text.replace(/\*\*/g, '');
  const frac = (v: number, of: number) => (of > 0 && v >= 0 && v <= of ? v / of : null);
  let m = /\[\[\s*(\d+(?:\.\d+)?)\s*\]\]/.exec(t);
  if (m) return frac(Number(m[1]), scale);
  m = /(\d+(?:\.\d+)?)\s*(?:\/|out of)\s*(\d+)/i.exec(t);
  if (m) return frac(Number(m[1]), Number(m[2]));
  m = /\b(?:score|rating|grade)\s*(?:is|:|=)?\s*(\d+(?:\.\d+)?)/i.exec(t);
  if (m) return frac(Number(m[1]), scale);
  m = /^\s*(\d+(?:\.\d+)?)\s*$/m.exec(t);
  return m ? frac(Number(m[1]), scale) : null;
}

export interface JudgeOptions {
  /** The judging model (a configured id). */
  model: string;
  /** One chat completion from the judge (the gateway passes its gated provider call). */
  complete: (req: ChatRequest, signal?: AbortSignal) => Promise<ChatCompletion>;
  /** Prices per 1,000 tokens, for cost accounting. */
  price?: { inputPer1k: number; outputPer1k: number };
  maxTokens?: number;
  rubric?: string;
}

const RUBRIC =
  'You are a strict grader. Judge whether the response correctly and helpfully answers the question. ' +
  'Reply with a short justification, then the final line "Score: N/10" (10 = correct and complete, 0 = wrong or unhelpful).';

export class JudgeReward implements OutcomeReward {
  readonly kind = 'judge' as const;
  readonly name: string;

  constructor(private readonly o: JudgeOptions) {
    this.name = `judge:${o.model}`;
  }

  /** Candidates are judged concurrently; an unparseable verdict scores 0.5 (no information). */
  async score(prompt: string, cands: readonly ResponseCandidate[], ctx?: ScoreContext): Promise<Float32Array> {
    const verdicts = await Promise.all(
      cands.map(async (c) => {
        const res = await this.o.complete(
          {
            messages: [
              { role: 'system', content: this.o.rubric ?? RUBRIC },
              { role: 'user', content: `Question:\n${prompt}\n\nResponse:\n${c.content}` },
            ],
            max_tokens: this.o.maxTokens ?? 256,
            temperature: 0,
          },
          ctx?.signal,
        );
        const u = res.usage;
        if (u && ctx?.onCost)
          ctx.onCost(
            (u.prompt_tokens * (this.o.price?.inputPer1k ?? 0) +
              u.completion_tokens * (this.o.price?.outputPer1k ?? 0)) /
              1000,
            u.total_tokens,
          );
        return parseJudgeScore(res.choices[0]?.message.content ?? '');
      }),
    );
    return Float32Array.from(verdicts, (v) => v ?? 0.5);
  }
}
