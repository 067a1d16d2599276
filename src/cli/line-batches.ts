/**
 * JSONL input cut into batches of whole lines without decoding them: the reading thread only
 * finds newlines, and a batch's bytes go to a worker as they are (decoded, split and parsed
 * there). Lines are numbered from 1 over the whole input, blank ones included.
 */
import { ArbiterError, ErrorCodes } from '../errors.js';

/** The longest line accepted: the bound on what one line may hold in memory. */
export const MAX_LINE_BYTES = 64 << 20;

export interface LineBatch {
  /** Whole lines, each ending in '\n' except perhaps the input's last; an ArrayBuffer of its own (transferable). */
  bytes: Uint8Array;
  /** The number of the batch's first line. */
  firstLine: number;
  /** Its lines, blank ones included. */
  lines: number;
}

const NL = 0x0a;

/**
 * Whether bytes [from, to) hold anything but ASCII white space (space, tab, CR, vertical tab, form
 * feed). A line of other white space (no-break spaces, a BOM) counts here towards its batch's size
 * but is skipped as blank when read (batchLines trims as JavaScript does): a batch may hold fewer
 * prompts than its size, never more.
 */
function hasContent(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c !== 0x20 && (c < 0x09 || c > 0x0d || c === 0x0a)) return true;
  }
  return false;
}

export class LineBatcher {
  /** Pieces of the batch being gathered (the last may end inside a line). */
  private pieces: Uint8Array[] = [];
  private bytes = 0;
  /** Lines of the batch being gathered so far, and those among them with content. */
  private lines = 0;
  private filled = 0;
  /** Bytes of the line being read so far. */
  private lineBytes = 0;
  private lineHasContent = false;
  /** The number of the batch's first line. */
  private first = 1;

  /** @param size lines with content per batch (blank lines ride along uncounted) */
  constructor(private readonly size: number) {}

  /** Takes the next piece of input; returns the batches it completes. */
  push(chunk: Uint8Array): LineBatch[] {
    const out: LineBatch[] = [];
    let start = 0; // of the chunk's part not yet in `pieces`
    let from = 0; // of the line being scanned
    for (;;) {
      const nl = chunk.indexOf(NL, from);
      const end = nl < 0 ? chunk.length : nl;
      this.lineBytes += end - from;
      if (this.lineBytes > MAX_LINE_BYTES)
        throw new ArbiterError(
          ErrorCodes.INVALID_ARGUMENT,
          `line ${this.first + this.lines}: longer than ${MAX_LINE_BYTES >> 20} MiB`,
          { param: 'in' },
        );
      this.lineHasContent ||= hasContent(chunk, from, end);
      if (nl < 0) break;
      this.lines++;
      if (this.lineHasContent) this.filled++;
      this.lineBytes = 0;
      this.lineHasContent = false;
      from = nl + 1;
      if (this.filled >= this.size) {
        this.add(chunk.subarray(start, from));
        start = from;
        out.push(this.cut());
      }
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
    return out;
  }

  /** The input has ended: the last batch, if any line (or part of one) is left. */
  end(): LineBatch | undefined {
    if (this.bytes === 0) return undefined;
    if (this.lineBytes > 0) this.lines++; // a last line without its newline
    this.lineBytes = 0;
    return this.cut();
  }

  private add(piece: Uint8Array): void {
    this.pieces.push(piece);
    this.bytes += piece.length;
  }

  private cut(): LineBatch {
    // one copy, so the batch owns its buffer (transferable; not a slice of Node's shared pool)
    const bytes = new Uint8Array(this.bytes);
    let o = 0;
    for (const p of this.pieces) {
      bytes.set(p, o);
      o += p.length;
    }
    const batch = { bytes, firstLine: this.first, lines: this.lines };
    this.first += this.lines;
    this.pieces = [];
    this.bytes = 0;
    this.lines = 0;
    this.filled = 0;
    return batch;
  }
}

/** Decoders that keep a byte-order mark (every line but the input's first) and that drop it. */
const keepBom = new TextDecoder('utf-8', { ignoreBOM: true });
const dropBom = new TextDecoder('utf-8');

/**
 * A batch's lines, decoded (UTF-8; invalid bytes become U+FFFD) with their numbers; blank lines
 * skipped, a line's trailing '\r' dropped. Each line is decoded on its own (a newline byte is
 * never part of a UTF-8 sequence, so the text is the same): the whole batch decoded at once is a
 * large string, allocated in V8's large-object space, and its lines slices that keep it alive —
 * decoding, splitting and parsing a batch took ~6x as long that way.
 */
export function batchLines(b: Pick<LineBatch, 'bytes' | 'firstLine'>): Array<{ line: string; lineNo: number }> {
  const bytes = b.bytes;
  const out: Array<{ line: string; lineNo: number }> = [];
  let lineNo = b.firstLine;
  let from = 0;
  while (from < bytes.length) {
    const nl = bytes.indexOf(0x0a, from);
    let end = nl < 0 ? bytes.length : nl;
    if (end > from && bytes[end - 1] === 0x0d) end--;
    const line = (lineNo === 1 ? dropBom : keepBom).decode(bytes.subarray(from, end));
    if (line.trim() !== '') out.push({ line, lineNo });
    lineNo++;
    from = (nl < 0 ? bytes.length : nl) + 1;
  }
  return out;
}
