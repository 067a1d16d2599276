/**
 * JSONL output written straight into UTF-8 bytes: each line is encoded into one growing buffer
 * (kept for the next batch), not concatenated into a string and encoded again.
 */
export class LineWriter {
  private buf: Buffer;
  private n = 0;

  /** `bytes`: the first buffer's size (at least 64 KiB), e.g. what a batch's lines are likely to take. */
  constructor(bytes = 0) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(1 << 16, bytes));
  }

  private room(chars: number): void {
    const need = this.n + 3 * chars; // UTF-8 bytes per UTF-16 unit: at most 3
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(need, 2 * this.buf.length));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }

  private put(s: string): void {
    this.room(s.length);
    this.n += this.buf.write(s, this.n, 'utf8');
  }

  /**
   * One line: what `JSON.stringify({ id, ...o })` writes for the object whose JSON is `json` (an
   * object with no integer-like keys, as decisions are), and a newline — without copying o.
   */
  objectWithId(id: string | number, json: string): void {
    // written piece by piece: a concatenated line would be flattened (copied) before encoding
    this.put(`{"id":${JSON.stringify(id)}`);
    if (json !== '{}') {
      this.put(',');
      this.put(json.slice(1)); // a slice is a view: not copied
    } else this.put('}');
    this.put('\n');
  }

  /**
   * The bytes written since the last take, in a buffer of their own (its ArrayBuffer can be
   * transferred to another thread): the writer goes on in a new one sized for as much again and a
   * quarter (not its capacity: one huge batch must not make every later one as large), not
   * copying these out — or, `last`, not at all (a writer for one batch).
   */
  take(last = false): Uint8Array {
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.n);
    this.buf = last ? Buffer.alloc(0) : Buffer.allocUnsafeSlow(Math.max(1 << 16, this.n + (this.n >> 2)));
    this.n = 0;
    return out;
  }
}
