/**
 * The routing hot path in one native call per batch (the addon's RoutePass): for every prompt its
 * features and keyword-rule counts, tokens, pooled embedding and nearest manifold points, on all
 * cores; JavaScript splits few-shot prompts before it (a line-level pass) and turns the results
 * into analyses and votes after it. The JavaScript path (analyze, embed, vote) stays the reference:
 * test/route-native.test.ts checks both give the same decisions. Applies with the static embedder
 * and a native backend; otherwise (and with `Router.nativePass = false`) routing takes the JS path.
 */
import { analysisAt, extractQuestion, nativeAnalyzer, type PromptAnalysis } from '../analyze/index.js';
import { int32Ids, nativeHandles, SYNC_WORK_NS, type NativeRoutePassHandle } from '../compute/index.js';
import { StaticEmbedder, UnigramTokenizer, type Embedder } from '../embed/index.js';
import { fromNative } from '../errors.js';
import type { Manifold, Vote } from '../manifold/index.js';

export interface PassOutput {
  analyses: PromptAnalysis[];
  /** n x dim, unit length (zeros for a prompt with no known token); empty when not asked for. */
  embeddings: Float32Array;
  /**
   * Prompt i's vote (undefined when the manifold is empty), made when asked: from the native
   * search's results, so each dies young with its decision.
   */
  vote: (i: number) => Vote | undefined;
}

/**
 * When the router has no other call in progress, a pass runs on the calling thread if it is a
 * prompt or two (up to SYNC_CHARS) or its estimated work is at most SYNC_WORK_NS: alone, a hand-off
 * to the libuv pool and back, with the pool's wake-ups, costs more than the work gains from the
 * cores (on a VM those wake-ups add milliseconds now and then). With calls overlapping, the pool
 * spreads them over the cores (16 concurrent route() calls: 2,800/s async against 1,950/s on the
 * JS thread). The gateway's micro-batches of short prompts are such passes: on this 2-core VM,
 * 16 prompts of 74 characters without a manifold routed in 13.4 µs a prompt on the calling thread
 * against 16.4 µs through the pool, and /v1/route served 13-17% more requests (docs/gateway.md).
 */
const SYNC_PROMPTS = 2;
const SYNC_CHARS = 32_768;
/**
 * The estimate's rates, measured on the calling thread (2-core AMD Zen 4 VM): features, rule
 * counts, tokens and pooling 55-65 ns a character (real prompts in batches of 4-64, the
 * tokenizer's word cache filling; 87-92 before the analyzer's keyed patterns and the cache); the
 * exact search ~0.02 ns per manifold row and dimension for each prompt (45-50 µs a prompt over
 * 10,000 x 256 in batches of 64).
 */
const NS_PER_CHAR = 60;
const NS_PER_ROW_DIM = 0.02;
/** The analysis alone (embed false): about half the per-character work (1.3 of 2.65 µs a 77-character prompt). */
const NS_PER_CHAR_ANALYSIS = 30;

/** Estimated work of a pass on one thread, in ns. */
export function passWorkNs(prompts: number, chars: number, searchedRows: number, dim: number, embed = true): number {
  return chars * (embed ? NS_PER_CHAR : NS_PER_CHAR_ANALYSIS) + prompts * searchedRows * dim * NS_PER_ROW_DIM;
}

export class FusedPass {
  private constructor(
    private readonly handle: NativeRoutePassHandle,
    private readonly manifold: Manifold,
  ) {}

  /** The pass for this embedder and manifold, or null when a part is not native. */
  static create(embedder: Embedder, manifold: Manifold): FusedPass | null {
    if (!(embedder instanceof StaticEmbedder)) return null;
    const tokenizer = embedder.tokenizer.nativeHandle;
    const analyzer = tokenizer ? nativeAnalyzer() : null;
    const parts = analyzer ? nativeHandles(embedder.backend, embedder.table, manifold.searchIndex) : null;
    if (!tokenizer || !analyzer || !parts?.addon.RoutePass) return null;
    try {
      return new FusedPass(new parts.addon.RoutePass(analyzer, tokenizer, parts.table, parts.index), manifold);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * `alone`: no other routing call is in progress (small batches may then run on this thread).
   * `embed` false: the analyses alone — no tokens, pooling or search (a router with no head and
   * an empty manifold reads no embedding); the embeddings are then empty and the votes none.
   */
  async run(prompts: readonly string[], k: number, alone = false, embed = true): Promise<PassOutput> {
    const shots = prompts.map((p) => extractQuestion(p));
    const questions = shots.map((s) => s.question);
    // the tokenizer reads NFKC text (ASCII is its own NFKC form; no tokens, no NFKC forms); the
    // features read the text as written
    const normal = embed ? UnigramTokenizer.nfkc(questions) : null;
    const nfkc = normal?.some((q, i) => q !== questions[i]) ? normal : null;
    const exact = embed && this.manifold.size > 0 && this.manifold.searchesExactly;
    let r;
    // the texts go as arrays, read into one native text: a batch joined here would be a large
    // string, allocated afresh in V8's large-object space (~4 ns a character on this VM)
    const args = [questions, null, nfkc, null, exact ? k : 0, embed] as const;
    let chars = 0;
    for (const q of questions) chars += q.length;
    const here =
      alone &&
      ((prompts.length <= SYNC_PROMPTS && chars <= SYNC_CHARS) ||
        passWorkNs(prompts.length, chars, exact ? this.manifold.size : 0, this.manifold.dim, embed) <= SYNC_WORK_NS);
    try {
      r = here ? this.handle.runSync(...args) : await this.handle.run(...args);
    } catch (e) {
      throw fromNative(e);
    }
    const analyses = shots.map((s, i) => analysisAt(s, r.features, r.counts, i));
    let vote: PassOutput['vote'] = () => undefined;
    if (r.k > 0) {
      const res = { ids: int32Ids(r.ids), scores: r.scores, k: r.k, n: r.n };
      vote = (i) => this.manifold.voteAt(res, i);
    } else if (embed && this.manifold.size > 0) {
      const votes = await this.manifold.vote(r.embeddings, k); // the approximate graph answers
      vote = (i) => votes[i];
    }
    return { analyses, embeddings: r.embeddings, vote };
  }
}
