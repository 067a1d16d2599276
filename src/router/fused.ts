/**
 * The routing hot path in one native call per batch (the addon's RoutePass): for every prompt its
 * features and keyword-rule counts, tokens, pooled embedding and nearest manifold points, on all
 * cores; JavaScript splits few-shot prompts before it (a line-level pass) and turns the results
 * into analyses and votes after it. The JavaScript path (analyze, embed, vote) stays the reference:
 * test/route-native.test.ts checks both give the same decisions. Applies with the static embedder
 * and a native backend; otherwise (and with `Router.nativePass = false`) routing takes the JS path.
 */
import { analysisAt, extractQuestion, nativeAnalyzer, type PromptAnalysis } from '../analyze/index.js';
import { int32Ids, nativeHandles, type NativeRoutePassHandle } from '../compute/index.js';
import { joinTexts, StaticEmbedder, UnigramTokenizer, type Embedder } from '../embed/index.js';
import { fromNative } from '../errors.js';
import type { Manifold, Vote } from '../manifold/index.js';

export interface PassOutput {
  analyses: PromptAnalysis[];
  /** n x dim, unit length (zeros for a prompt with no known token). */
  embeddings: Float32Array;
  /** Per prompt (empty when the manifold is). */
  votes: Array<Vote | undefined>;
}

/**
 * Batches up to this many prompts and characters run on the calling thread when the router has no
 * other call in progress: alone, a hand-off to the libuv pool and back costs more than the work
 * (and on a VM its wake-ups add milliseconds now and then); with calls overlapping, the pool
 * spreads them over the cores (16 concurrent route() calls: 2,800/s async against 1,950/s on the
 * JS thread).
 */
const SYNC_PROMPTS = 2;
const SYNC_CHARS = 32_768;

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

  /** `alone`: no other routing call is in progress (small batches may then run on this thread). */
  async run(prompts: readonly string[], k: number, alone = false): Promise<PassOutput> {
    const shots = prompts.map((p) => extractQuestion(p));
    const questions = shots.map((s) => s.question);
    const raw = joinTexts(questions);
    // the tokenizer reads NFKC text (ASCII is its own NFKC form); the features read the text as written
    const normal = UnigramTokenizer.nfkc(questions);
    const nfkc = normal.some((q, i) => q !== questions[i]) ? joinTexts(normal) : null;
    const exact = this.manifold.size > 0 && this.manifold.searchesExactly;
    let r;
    const args = [raw.text, raw.offsets, nfkc?.text ?? null, nfkc?.offsets ?? null, exact ? k : 0] as const;
    const here = alone && prompts.length <= SYNC_PROMPTS && raw.text.length <= SYNC_CHARS;
    try {
      r = here ? this.handle.runSync(...args) : await this.handle.run(...args);
    } catch (e) {
      throw fromNative(e);
    }
    const analyses = shots.map((s, i) => analysisAt(s, r.features, r.counts, i));
    let votes: Array<Vote | undefined> = [];
    if (r.k > 0) votes = this.manifold.votesFrom({ ids: int32Ids(r.ids), scores: r.scores, k: r.k, n: r.n });
    else if (this.manifold.size > 0) votes = await this.manifold.vote(r.embeddings, k); // the approximate graph answers
    return { analyses, embeddings: r.embeddings, votes };
  }
}
