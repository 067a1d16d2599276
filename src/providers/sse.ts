/**
 * Server-sent events from text chunks, bounded: only bytes not yet searched are scanned for the
 * blank line that ends an event (a stream without delimiters costs linear, not quadratic, time),
 * and a pending event larger than `maxEvent` characters is an error, not an ever-growing buffer.
 */

/** The end of a server-sent event. */
const DELIMITER = /\r?\n\r?\n/g;

export class SseReader {
  private buf = '';
  /** buf[0, scanned) holds no delimiter. */
  private scanned = 0;

  constructor(private readonly maxEvent: number) {}

  /**
   * Adds a chunk; returns the `data:` payloads of the events it completed (empty ones skipped).
   * Throws a RangeError when the pending event grows past the limit.
   */
  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    for (;;) {
      DELIMITER.lastIndex = Math.max(0, this.scanned - 3); // a delimiter may straddle two chunks
      const m = DELIMITER.exec(this.buf);
      if (!m) {
        this.scanned = this.buf.length;
        if (this.buf.length > this.maxEvent) throw new RangeError(`stream event larger than ${this.maxEvent} bytes`);
        return out;
      }
      const event = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.scanned = 0;
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (data) out.push(data);
    }
  }
}
