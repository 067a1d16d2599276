/**
 * A unigram-LM tokenizer (SentencePiece style): NFKC normalisation, '▁' marking word starts, and
 * the segmentation that maximises the sum of piece log-probabilities (Viterbi). Characters no
 * piece covers become the unknown id, one per run. The vocabulary format is the one the
 * Universal Sentence Encoder lite ships: [[piece, logProb], ...] with reserved ids first. Scores
 * are rounded to multiples of 2^-20 (`quantize`), as the native segmenter rounds them.
 */
import { loadAddon, type NativeTokenizerHandle } from '../compute/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';

export type Vocabulary = ReadonlyArray<readonly [string, number]>;

export interface TokenizerOptions {
  /** Ids below this are special symbols, never produced by segmentation (USE lite: 6). */
  reserved?: number;
  /** Id emitted for characters no piece covers (USE lite: 0). */
  unkId?: number;
  /** Segment batches in the native addon when it loads (default true); the JS path is the reference. */
  native?: boolean;
}

const SEP = '\u2581';
// eslint-disable-next-line no-control-regex -- the ASCII range, NUL included, on purpose
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A piece's score rounded to a multiple of 2^-20 (as the native tokenizer rounds it): sums of such
 * scores are exact, so a text's best segmentation is its words' (when no piece spans a word
 * mark), tie for tie, and the native tokenizer segments word by word with a cache of recent words.
 */
function quantize(score: number): number {
  return Math.floor(score * 1048576 + 0.5) / 1048576;
}

/** Texts joined, with their UTF-16 offsets (n + 1): the layout the native text calls take. */
export function joinTexts(texts: readonly string[]): { text: string; offsets: Float64Array } {
  const offsets = new Float64Array(texts.length + 1);
  texts.forEach((t, i) => (offsets[i + 1] = offsets[i]! + t.length));
  return { text: texts.join(''), offsets };
}

/** Trie over UTF-16 code units; node i's children live in one Map keyed by code unit. */
class Trie {
  private readonly next: Array<Map<number, number>> = [new Map()];
  private readonly pieceAt: number[] = [-1];

  /** Adds a piece; false (and no change) when it is already there: the first of duplicates is the one produced. */
  insert(piece: string, id: number): boolean {
    let node = 0;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      let child = this.next[node]!.get(c);
      if (child === undefined) {
        child = this.next.length;
        this.next.push(new Map());
        this.pieceAt.push(-1);
        this.next[node]!.set(c, child);
      }
      node = child;
    }
    if (this.pieceAt[node]! >= 0) return false;
    this.pieceAt[node] = id;
    return true;
  }

  /** Calls visit(id, endExclusive) for every piece that starts at `start` in s. */
  matches(s: string, start: number, visit: (id: number, end: number) => void): void {
    let node = 0;
    for (let i = start; i < s.length; i++) {
      const child = this.next[node]!.get(s.charCodeAt(i));
      if (child === undefined) return;
      node = child;
      const id = this.pieceAt[node]!;
      if (id >= 0) visit(id, i + 1);
    }
  }
}

export class UnigramTokenizer {
  private readonly trie = new Trie();
  private readonly scores: Float64Array;
  private readonly unkId: number;
  private readonly unkScore: number;
  // scratch reused across calls (grown as needed)
  private best = new Float64Array(0);
  private from = new Int32Array(0);
  private via = new Int32Array(0);

  private nativeState: NativeTokenizerHandle | null | undefined;

  constructor(
    readonly vocabulary: Vocabulary,
    private readonly options: TokenizerOptions = {},
  ) {
    const reserved = options.reserved ?? 0;
    this.unkId = options.unkId ?? 0;
    if (!Array.isArray(vocabulary) || vocabulary.length <= reserved)
      throw new ArbiterError(
        ErrorCodes.INVALID_ARGUMENT,
        'vocabulary must be a non-empty array of [piece, logProb] pairs',
        { param: 'vocabulary' },
      );
    if (!Number.isInteger(this.unkId) || this.unkId < 0 || this.unkId >= vocabulary.length)
      throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `unkId must index the vocabulary, got ${this.unkId}`, {
        param: 'unkId',
      });
    this.scores = new Float64Array(vocabulary.length);
    let min = 0;
    vocabulary.forEach((entry, id) => {
      const [piece, score] = entry as [unknown, unknown];
      if (typeof piece !== 'string' || typeof score !== 'number' || !Number.isFinite(score))
        throw new ArbiterError(
          ErrorCodes.INVALID_ARGUMENT,
          `vocabulary[${id}] must be [piece: string, logProb: number]`,
          { param: 'vocabulary' },
        );
      this.scores[id] = quantize(score);
      if (id >= reserved && piece.length > 0 && this.trie.insert(piece, id)) min = Math.min(min, this.scores[id]);
    });
    this.unkScore = min - 10; // any real piece beats an unknown character
  }

  get size(): number {
    return this.vocabulary.length;
  }

  /** The normalised form that is segmented: NFKC, '▁' before the text and in place of spaces. */
  static normalize(text: string): string {
    const n = text.normalize('NFKC');
    return n.length > 0 ? SEP + n.replace(/ /g, SEP) : n;
  }

  /** Each text's NFKC form, what the native segmenter reads (ASCII text is its own: not normalised again). */
  static nfkc(texts: readonly string[]): string[] {
    return texts.map((t) => (NON_ASCII.test(t) ? t.normalize('NFKC') : t));
  }

  /** Token ids of one text. */
  encode(text: string): number[] {
    const s = UnigramTokenizer.normalize(text);
    const n = s.length;
    if (this.best.length < n + 1) {
      this.best = new Float64Array(2 * n + 2);
      this.from = new Int32Array(2 * n + 2);
      this.via = new Int32Array(2 * n + 2);
    }
    const { best, from, via, scores } = this;
    best.fill(-Infinity, 0, n + 1);
    best[0] = 0;
    for (let i = 0; i < n; i++) {
      const base = best[i]!;
      if (base === -Infinity) continue; // inside a surrogate pair skipped by an unknown character
      let any = false;
      this.trie.matches(s, i, (id, end) => {
        any = true;
        const v = base + scores[id]!;
        if (v > best[end]!) {
          best[end] = v;
          from[end] = i;
          via[end] = id;
        }
      });
      if (!any || best[i + 1] === -Infinity) {
        // an uncovered character (a whole code point: both halves of a surrogate pair)
        const end = i + (s.charCodeAt(i) >= 0xd800 && s.charCodeAt(i) <= 0xdbff && i + 1 < n ? 2 : 1);
        const v = base + this.unkScore;
        if (v > best[end]!) {
          best[end] = v;
          from[end] = i;
          via[end] = this.unkId;
        }
      }
    }
    const out: number[] = [];
    for (let end = n; end > 0; end = from[end]!) out.push(via[end]!);
    out.reverse();
    // runs of unknown characters become one unknown token
    return out.filter((id, i) => !(id === this.unkId && i > 0 && out[i - 1] === this.unkId));
  }

  /**
   * Token ids of many texts, flat, with offsets: bag i is ids[offsets[i] .. offsets[i+1]), the
   * layout embedPool takes.
   */
  encodeBatch(texts: readonly string[]): { ids: Int32Array; offsets: Int32Array } {
    const native = this.native();
    if (native) {
      // NFKC here, the '▁' marking natively
      const { text, offsets } = joinTexts(UnigramTokenizer.nfkc(texts));
      return native.encodeBatch(text, offsets, true);
    }
    const parts = texts.map((t) => this.encode(t));
    const offsets = new Int32Array(texts.length + 1);
    parts.forEach((p, i) => (offsets[i + 1] = offsets[i]! + p.length));
    const ids = new Int32Array(offsets[texts.length]!);
    parts.forEach((p, i) => ids.set(p, offsets[i]!));
    return { ids, offsets };
  }

  /** The native segmenter (same results as encode), built on first use; null when it is unavailable or off. */
  private native(): NativeTokenizerHandle | null {
    if (this.nativeState === undefined) {
      const addon = this.options.native === false ? null : loadAddon();
      this.nativeState = addon?.Tokenizer
        ? new addon.Tokenizer(
            this.vocabulary.map(([p]) => p),
            Float64Array.from(this.scores),
            this.options.reserved ?? 0,
            this.unkId,
          )
        : null;
    }
    return this.nativeState;
  }

  /** The addon's tokenizer (null when batches are segmented in JavaScript). */
  get nativeHandle(): NativeTokenizerHandle | null {
    return this.native();
  }

  /** Whether batches are segmented natively. */
  get isNative(): boolean {
    return this.native() !== null;
  }

  /** log-probability of each id (for frequency-based weights). */
  logProb(id: number): number {
    return this.scores[id]!;
  }
}
